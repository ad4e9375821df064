"""`wezparctl lua-path`: where the WezTerm module is, for `package.path` in wezterm.lua.

The Lua files ship inside the Python package (`wezparallel/lua`, package data), so the answer
follows the install: a venv, pipx or an editable checkout each print their own directory, and
wezterm.lua never hard-codes a site-packages path the user had to find by hand.
"""

from __future__ import annotations

from pathlib import Path

import click

MODULE = Path("wezparallel") / "init.lua"


def lua_dir() -> Path:
    """The directory that holds `wezparallel/init.lua`, symlinks resolved."""
    return (Path(__file__).resolve().parent.parent / "lua").resolve()


def _lua_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def snippet(directory: Path) -> str:
    """The three lines to paste into wezterm.lua (after `config` is created)."""
    entries = f";{directory}/?.lua;{directory}/?/init.lua"
    return "\n".join([
        f"package.path = package.path .. {_lua_string(entries)}",
        "local wezparallel = require 'wezparallel'",
        "wezparallel.apply_to_config(config, {})",
    ])


@click.command(name="lua-path")
@click.option("--snippet", "as_snippet", is_flag=True,
              help="Print the three lines to paste into wezterm.lua instead.")
def lua_path(as_snippet: bool) -> None:
    """Print the directory to add to package.path in wezterm.lua."""
    directory = lua_dir()
    if not (directory / MODULE).is_file():
        raise click.ClickException(
            f"the WezTerm module is missing from this install: {directory / MODULE} not found")
    click.echo(snippet(directory) if as_snippet else str(directory))
