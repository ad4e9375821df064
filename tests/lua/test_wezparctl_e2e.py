"""The Lua module against the real `wezparctl`: the stand-in wezterm's run_child_process really
runs the CLI, so the Lua side is checked against the real JSON and exit codes.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.lua.busted import run_busted
from tests.support import DaemonProcess, script, short_tmpdir

CONF = {"a.yaml": "workspace: a\nprocesses:\n  s: {command: sleep 600, start_secs: 0}\n"}


def _env(socket: Path) -> dict[str, str]:
    return os.environ | {"WEZPARALLEL_E2E_WEZPARCTL": script("wezparctl"),
                         "WEZPARALLEL_E2E_SOCKET": str(socket)}


def test_status_bar_says_down_without_a_daemon() -> None:
    root = short_tmpdir()
    try:
        run_busted(["e2e/down_spec.lua"], _env(root / "wp.sock"))
    finally:
        root.rmdir()


def test_lua_module_against_a_live_daemon() -> None:
    daemon = DaemonProcess(CONF)
    try:
        try:
            daemon.start()
            daemon.wait_state("a:s", "RUNNING")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; daemon log:\n{daemon.daemon_log()[-2000:]}") from exc
        run_busted(["e2e/live_spec.lua"], _env(daemon.socket))
        daemon.wait_state("a:s", "STOPPED")
    finally:
        daemon.cleanup()
