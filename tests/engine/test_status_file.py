"""The daemon's status snapshot for the status bar: what it holds, how often it is written."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path
from typing import Any

from wezparallel.clock import FakeClock
from wezparallel.runtime.statusfile import StatusFile


def _file(tmp_path: Path, clock: FakeClock, built: list[int]) -> StatusFile:
    def build() -> dict[str, Any]:
        built.append(1)
        return {"processes": [{"id": "a:b", "state": "RUNNING"}], "config": {"errors": []},
                "notices": []}

    return StatusFile(tmp_path / "status.json", build, clock, heartbeat=10.0)


def test_a_burst_of_changes_is_one_write_and_close_says_down(tmp_path: Path) -> None:
    clock = FakeClock()
    built: list[int] = []

    async def scenario() -> StatusFile:
        f = _file(tmp_path, clock, built)
        for _ in range(50):
            f.changed()
        await asyncio.sleep(0.05)
        f.close()
        f.changed()  # a late change after the stop: must not bring `up: true` back
        await asyncio.sleep(0.05)
        return f

    f = asyncio.run(scenario())
    assert len(built) == 1 and f.writes == 2  # one for the burst, one for the stop
    data = json.loads((tmp_path / "status.json").read_text())
    assert data["daemon"]["up"] is False and data["processes"] == []
    assert data["daemon"]["written_at"] == clock.wall()
    assert data["daemon"]["stale_after"] >= 2 * data["daemon"]["heartbeat"]
    assert stat.S_IMODE((tmp_path / "status.json").stat().st_mode) == 0o600


def test_the_snapshot_is_the_status_object_with_the_daemon_beside_it(tmp_path: Path) -> None:
    clock = FakeClock()
    f = _file(tmp_path, clock, [])
    f.write()
    data = json.loads((tmp_path / "status.json").read_text())
    assert data["processes"] == [{"id": "a:b", "state": "RUNNING"}]
    assert data["daemon"]["up"] is True
    assert not list(tmp_path.glob(".*tmp"))  # written through a temporary file, renamed


def test_a_crash_reaches_the_file_long_before_the_heartbeat(daemon_factory: Any) -> None:
    import os
    import signal

    from tests.support import retry_until

    d = daemon_factory({"a.yaml": "workspace: a\nprocesses:\n  s: {command: sleep 600}\n"})
    d.start()
    path = d.state / "status.json"

    def pid_in_file() -> int | None:
        try:
            procs = json.loads(path.read_text())["processes"]
        except (OSError, ValueError, KeyError):
            return None
        running = [p["pid"] for p in procs if p["state"] == "RUNNING"]
        return running[0] if running else None

    first = retry_until(pid_in_file, 15, 0.02, "the file shows a:s RUNNING")
    os.kill(first, signal.SIGKILL)
    # the heartbeat is 10 s: only the event on the bus can bring the new pid this soon
    retry_until(lambda: (p := pid_in_file()) is not None and p != first and p, 3, 0.02,
                "the restarted pid in the file")
