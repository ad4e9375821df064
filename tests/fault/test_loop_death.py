"""Issue 16.1: a task of the daemon that dies takes the daemon down, loudly."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from wezparallel.backends.memory import MemoryBackend
from wezparallel.paths import Paths
from wezparallel.runtime.daemon import Daemon, DaemonSettings


def test_a_dying_reconcile_loop_ends_the_daemon_with_an_error(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    paths = Paths(tmp_path / "conf.d", tmp_path / "state", tmp_path / "wp.sock")
    daemon = Daemon(DaemonSettings(paths, backend="subprocess", metrics=None),
                    factories={"subprocess": MemoryBackend})

    async def broken(**_: object) -> None:
        raise RuntimeError("a bug in the loop")

    # what the loop task runs on each wake (the reconcile pass)
    daemon.supervisor._reconcile = broken  # type: ignore[method-assign]

    async def scenario() -> None:
        daemon.supervisor.wake()
        await asyncio.wait_for(daemon.run(), 10)  # before the fix: waits for a stop forever

    with caplog.at_level(logging.ERROR):
        asyncio.run(scenario())
    assert daemon.failed and daemon.leave_running
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "reconcile task ended with RuntimeError: a bug in the loop" in record.getMessage()
    assert record.exc_info is not None
