"""A daemon settles its first starts before its housekeeping (status file, log rotation,
metrics, the file watcher), and a save made before the watcher began is not lost."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import pytest

from tests.engine.test_start_lanes import HangingBackend
from tests.support import retry_until_async
from wezparallel.backends.base import ExitCallback
from wezparallel.backends.logfile import open_for_child
from wezparallel.paths import Paths
from wezparallel.runtime import daemon as daemon_module
from wezparallel.runtime.daemon import Daemon, DaemonSettings

PROCESSES = 5


def _conf(tmp_path: Path, names: list[str]) -> Path:
    conf = tmp_path / "conf.d"
    conf.mkdir(exist_ok=True)
    lines = ["workspace: w", "processes:"] + [f"  {n}: {{command: sleep 600}}" for n in names]
    (conf / "w.yaml").write_text("\n".join(lines) + "\n")
    return conf


def _daemon(tmp_path: Path, conf: Path) -> Daemon:
    paths = Paths.resolve(conf, tmp_path / "state", tmp_path / "wp.sock")
    return Daemon(DaemonSettings(paths, backend="subprocess", metrics=None))


def test_housekeeping_begins_once_the_first_starts_settled(tmp_path: Path) -> None:
    names = [f"p{i}" for i in range(PROCESSES)]
    conf = _conf(tmp_path, names)
    seen: dict[str, object] = {}

    async def scenario() -> None:
        daemon = _daemon(tmp_path, conf)
        daemon.apply_config(daemon.read_config())
        sup = daemon.supervisor

        def on_supervising() -> None:
            seen["started"] = sorted(sup.handles)
            seen["status file"] = daemon.paths.status_file.exists()

        run = asyncio.create_task(daemon.run(on_supervising=on_supervising))
        try:
            await retry_until_async(lambda: len(sup.handles) == PROCESSES, timeout=10)
            await retry_until_async(daemon.paths.status_file.exists, timeout=10)
        finally:
            daemon.request_shutdown()
            await run

    asyncio.run(scenario())
    assert seen["started"] == sorted(f"w:{n}" for n in names)
    assert seen["status file"] is False  # written after, not before, the first starts


def test_a_save_made_before_the_watcher_began_is_reloaded(tmp_path: Path) -> None:
    conf = _conf(tmp_path, ["a"])

    async def scenario() -> None:
        daemon = _daemon(tmp_path, conf)
        daemon.apply_config(daemon.read_config())
        unchanged = daemon.config
        daemon.reload_if_changed()
        assert daemon.config is unchanged  # nothing changed: no reload
        _conf(tmp_path, ["a", "b"])  # saved after the read, before any watcher
        daemon.reload_if_changed()
        assert set(daemon.config.processes()) == {"w:a", "w:b"}

    asyncio.run(scenario())


def test_an_env_file_changed_before_the_watcher_began_is_reloaded(tmp_path: Path) -> None:
    conf = tmp_path / "conf.d"
    conf.mkdir()
    env = tmp_path / "app.env"
    env.write_text("GREETING=hello\n")
    (conf / "w.yaml").write_text(
        "workspace: w\nenv_file: ../app.env\nprocesses:\n  a: {command: sleep 600}\n")

    async def scenario() -> None:
        daemon = _daemon(tmp_path, conf)
        daemon.apply_config(daemon.read_config())
        assert dict(daemon.config.processes()["w:a"].env)["GREETING"] == "hello"
        env.write_text("GREETING=bonjour, with more bytes\n")
        daemon.reload_if_changed()
        assert dict(daemon.config.processes()["w:a"].env)["GREETING"] == "bonjour, with more bytes"

    asyncio.run(scenario())


def test_a_log_directory_removed_while_running_is_made_again_private(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "w" / "a.log"
    os.close(open_for_child(log))
    for leftover in log.parent.iterdir():
        leftover.unlink()
    log.parent.rmdir()
    fd = open_for_child(log)
    os.close(fd)
    assert stat.S_IMODE(log.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


def test_a_start_that_hangs_holds_housekeeping_back_only_so_long(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = _conf(tmp_path, ["a"])
    monkeypatch.setattr(daemon_module, "SETTLE_WAIT", 0.05)
    hanging: list[HangingBackend] = []

    def factory(on_exit: ExitCallback) -> HangingBackend:
        hanging.append(HangingBackend(on_exit))
        return hanging[0]

    async def scenario() -> None:
        paths = Paths.resolve(conf, tmp_path / "state", tmp_path / "wp.sock")
        daemon = Daemon(DaemonSettings(paths, backend="subprocess", metrics=None),
                        factories={"subprocess": factory})
        daemon.apply_config(daemon.read_config())
        began = asyncio.Event()
        run = asyncio.create_task(daemon.run(on_supervising=began.set))
        try:
            await asyncio.wait_for(began.wait(), 10)
            assert hanging[0].waiting == 1  # still starting: the wait did not hold on
            assert not daemon.supervisor.settled.is_set()
        finally:
            hanging[0].release.set()
            daemon.request_shutdown()
            await run

    asyncio.run(scenario())
