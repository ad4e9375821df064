"""A reload that lands while the daemon shuts down (a late watcher event) must not bring back
what the shutdown is stopping: those processes would outlive the daemon."""

from __future__ import annotations

import asyncio
from pathlib import Path

from wezparallel.paths import Paths
from wezparallel.runtime.daemon import Daemon, DaemonSettings


def test_a_reload_during_shutdown_changes_nothing(tmp_path: Path) -> None:
    conf = tmp_path / "conf.d"
    conf.mkdir()
    (conf / "w.yaml").write_text("workspace: w\nprocesses:\n  a: {command: sleep 600}\n")

    async def scenario() -> None:
        paths = Paths.resolve(conf, tmp_path / "state", tmp_path / "wp.sock")
        daemon = Daemon(DaemonSettings(paths, backend="subprocess", metrics=None))
        daemon.request_shutdown()
        daemon.supervisor.desired = {}  # what `Supervisor.shutdown` does first
        daemon.reload_quietly()
        assert daemon.supervisor.desired == {}

    asyncio.run(scenario())
