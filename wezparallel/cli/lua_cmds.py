"""`wezparctl lua-path`: where the WezTerm module is, for `package.path` in wezterm.lua.

The Lua files ship inside the Python package (`wezparallel/lua`, package data), so the answer
follows the install: a venv, pipx or an editable checkout each print their own directory, and
wezterm.lua never hard-codes a site-packages path the user had to find by hand.

The snippet also names the daemon's status file (and socket, when one was chosen) as this
command resolved them: WezTerm started from a desktop menu does not see the shell's
`WEZPARALLEL_STATE_DIR` or `--state-dir`, so the module's own default could point elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from wezparallel.paths import SOCKET_ENV

MODULE = Path("wezparallel") / "init.lua"


def lua_dir() -> Path:
    """The directory that holds `wezparallel/init.lua`, symlinks resolved."""
    return (Path(__file__).resolve().parent.parent / "lua").resolve()


def _lua_string(text: str) -> str:
    """A Lua string literal; control characters as decimal escapes."""
    out = []
    for ch in text:
        if ch in "\\'":
            out.append("\\" + ch)
        elif ord(ch) < 32 or ord(ch) == 127:
            out.append(f"\\{ord(ch):03d}")
        else:
            out.append(ch)
    return "'" + "".join(out) + "'"


def snippet(directory: Path, options: dict[str, Path] | None = None) -> str:
    """The three lines to paste into wezterm.lua (after `config` is created)."""
    entries = f";{directory}/?.lua;{directory}/?/init.lua"
    table = ", ".join(f"{key} = {_lua_string(str(value))}"
                      for key, value in (options or {}).items())
    return "\n".join([
        f"package.path = package.path .. {_lua_string(entries)}",
        "local wezparallel = require 'wezparallel'",
        f"wezparallel.apply_to_config(config, {{ {table} }})" if table
        else "wezparallel.apply_to_config(config, {})",
    ])


@click.command(name="lua-path")
@click.option("--snippet", "as_snippet", is_flag=True,
              help="Print the three lines to paste into wezterm.lua instead, with this "
                   "command's status file and socket.")
@click.pass_context
def lua_path(ctx: click.Context, as_snippet: bool) -> None:
    """Print the directory to add to package.path in wezterm.lua."""
    directory = lua_dir()
    if not (directory / MODULE).is_file():
        raise click.ClickException(
            f"the WezTerm module is missing from this install: {directory / MODULE} not found")
    if not as_snippet:
        click.echo(str(directory))
        return
    paths = ctx.obj.paths
    options = {"status_file": paths.status_file.absolute()}
    if ctx.obj.socket_given or os.environ.get(SOCKET_ENV):
        options["socket"] = paths.socket.absolute()
    click.echo(snippet(directory, options))
