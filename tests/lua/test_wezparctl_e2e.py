"""The Lua module against the real daemon: the status bar reads the status file the daemon
writes, and the stand-in wezterm's run_child_process really runs `wezparctl` for actions, so the
Lua side is checked against the real file, JSON and exit codes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tests.lua.busted import run_busted
from tests.support import DaemonProcess, retry_until, script, short_tmpdir

CONF = {"a.yaml": "workspace: a\nprocesses:\n  s: {command: sleep 600, start_secs: 0}\n"}


def _env(socket: Path, status_file: Path) -> dict[str, str]:
    return os.environ | {"WEZPARALLEL_E2E_WEZPARCTL": script("wezparctl"),
                         "WEZPARALLEL_E2E_SOCKET": str(socket),
                         "WEZPARALLEL_E2E_STATUS_FILE": str(status_file)}


def _snapshot(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]
    except (OSError, ValueError):
        return None


def _file_shows(path: Path, up: bool, state: str | None = None) -> bool:
    data = _snapshot(path)
    return data is not None and data["daemon"]["up"] is up and (
        state is None or [p["state"] for p in data["processes"]] == [state])


def test_status_bar_says_down_without_a_daemon() -> None:
    root = short_tmpdir()
    try:
        run_busted(["e2e/down_spec.lua"], _env(root / "wp.sock", root / "state" / "status.json"))
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
        status_file = daemon.state / "status.json"
        env = _env(daemon.socket, status_file)
        retry_until(lambda: _file_shows(status_file, True, "RUNNING"), 10, 0.05,
                    f"{status_file} to show a:s RUNNING")
        run_busted(["e2e/live_spec.lua"], env)
        daemon.wait_state("a:s", "STOPPED")
        assert daemon.stop() == 0
        assert _file_shows(status_file, False), _snapshot(status_file)
        assert status_file.stat().st_mode & 0o777 == 0o600
        run_busted(["e2e/stopped_spec.lua"], env)
    finally:
        daemon.cleanup()
