"""`wezparctl lua-path`: the printed directory and snippet really load the module in Lua."""

from __future__ import annotations

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
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_lua_path_prints_the_directory_holding_the_module() -> None:
    directory = Path(_run_ctl("lua-path").strip())
    assert directory.is_absolute()
    assert (directory / "wezparallel" / "init.lua").is_file()
    assert (directory / "wezparallel" / "json.lua").is_file()


def test_snippet_loads_the_module_in_lua() -> None:
    lua = shutil.which("lua5.4")
    if lua is None:
        pytest.fail("lua5.4 is needed: apt-get install lua5.4 (or `make deps`)")
    snippet = _run_ctl("lua-path", "--snippet")
    assert len(snippet.strip().splitlines()) == 3
    program = FAKE_WEZTERM + "local config = {}\n" + snippet + CHECK
    result = subprocess.run([lua, "-"], input=program, capture_output=True, text=True,
                            timeout=30, check=False, cwd="/")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "loaded 4"
