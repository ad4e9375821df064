"""`wezparctl lua-path`: the printed directory and snippet really load the module in Lua."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from wezparallel.cli.ctl import cli

# A minimal `wezterm` for a plain Lua interpreter: enough for apply_to_config to run.
FAKE_WEZTERM = """
package.preload.wezterm = function()
  local handlers = {}
  return {
    handlers = handlers,
    on = function(name, fn) handlers[name] = fn end,
    action_callback = function(fn) return fn end,
    action = setmetatable({}, { __index = function() return function(a) return a end end }),
    log_warn = function() end, log_error = function() end,
    -- the status file the tests write says only that the daemon stopped
    json_parse = function(text)
      assert(text == 'STOPPED', 'unexpected status file text: ' .. text)
      return { daemon = { up = false, written_at = 0 }, processes = {} }
    end,
  }
end
"""

CHECK = """
local wezterm = require 'wezterm'
assert(#config.keys == 4, 'expected 4 key bindings, got ' .. #config.keys)
assert(wezterm.handlers['update-status'], 'no update-status handler')
print('loaded ' .. #config.keys)
"""


def _run_ctl(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), env={"WEZPARALLEL_SOCKET": None})
    assert result.exit_code == 0, result.output
    return result.output


def test_lua_path_prints_the_directory_holding_the_module() -> None:
    directory = Path(_run_ctl("lua-path").strip())
    assert directory.is_absolute()
    assert (directory / "wezparallel" / "init.lua").is_file()
    # WezTerm's own json_parse decodes; the module ships no JSON decoder of its own
    assert not (directory / "wezparallel" / "json.lua").exists()


def _run_lua(program: str) -> str:
    """Runs `program` as WezTerm started from a desktop menu would: without the shell's
    WEZPARALLEL_* variables."""
    lua = shutil.which("lua5.4")
    if lua is None:
        pytest.fail("lua5.4 is needed: apt-get install lua5.4 (or `make deps`)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEZPARALLEL_")}
    result = subprocess.run([lua, "-"], input=program, capture_output=True, text=True,
                            timeout=30, check=False, cwd="/", env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_snippet_loads_the_module_in_lua() -> None:
    snippet = _run_ctl("lua-path", "--snippet")
    assert len(snippet.strip().splitlines()) == 3
    assert _run_lua(FAKE_WEZTERM + "local config = {}\n" + snippet + CHECK) == "loaded 4"


def _status_reason(snippet: str) -> str:
    program = (FAKE_WEZTERM + "local config = {}\n" + snippet
               + "\nprint(require('wezparallel').status().reason)\n")
    return _run_lua(program)


@pytest.mark.parametrize("how", ["flag", "env"])
def test_snippet_points_the_status_bar_at_the_chosen_state_dir(
        tmp_path: Path, how: str, monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "it's a\nstate dir"
    if how == "flag":
        snippet = _run_ctl("--state-dir", str(state), "lua-path", "--snippet")
    else:
        monkeypatch.setenv("WEZPARALLEL_STATE_DIR", str(state))
        snippet = _run_ctl("lua-path", "--snippet")
    assert len(snippet.strip().splitlines()) == 3
    assert "socket" not in snippet
    assert _status_reason(snippet) == "not running"
    state.mkdir()
    (state / "status.json").write_text("STOPPED", encoding="utf-8")
    assert _status_reason(snippet) == "stopped"


def test_snippet_passes_a_socket_given_by_flag_or_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    snippet = _run_ctl("--socket", str(tmp_path / "a.sock"), "lua-path", "--snippet")
    assert f"socket = '{tmp_path / 'a.sock'}'" in snippet
    result = CliRunner().invoke(cli, ["lua-path", "--snippet"],
                                env={"WEZPARALLEL_SOCKET": str(tmp_path / "b.sock")})
    assert f"socket = '{tmp_path / 'b.sock'}'" in result.output
    _run_lua(FAKE_WEZTERM + "local config = {}\n" + snippet + CHECK)
