"""Re-adoption: a process from an earlier daemon (not our child) is watched, stopped, reported;
a pid that now belongs to someone else is not adopted, and not signalled."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import time
from dataclasses import replace
from pathlib import Path

from tests.backends.kit import (
    WAIT,
    is_our_child,
    make_backend,
    run,
    sh,
    spec,
    start_stranger,
    wait_for_text,
)
from tests.support import pid_alive, retry_until
from wezparallel.backends import procinfo
from wezparallel.backends.base import Handle
from wezparallel.plan.lifecycle import ExitInfo


def test_an_adopted_non_child_is_watched_and_its_end_reported_as_unknown() -> None:
    handle = start_stranger("exec sleep 600")
    assert not is_our_child(handle.pid)

    async def scenario() -> None:
        backend, exits = make_backend()
        assert backend.adopt(handle)
        assert backend.adopt(handle)  # twice is harmless: still one watch
        backend.signal(handle, signal.SIGKILL)
        seen, info = await exits.next()
        assert seen == handle
        assert info == ExitInfo(known=False)
        assert info.describe() == "exit status unknown"
        await backend.close()
        assert len(exits.seen) == 1
    try:
        run(scenario)
    finally:
        _kill(handle.pid)


def test_stop_of_an_adopted_process_escalates_and_returns_when_it_is_gone(
        tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    handle = start_stranger(f"trap '' TERM; sleep 600 & echo ok > {ready}; wait")

    async def scenario() -> None:
        backend, exits = make_backend()
        await wait_for_text(ready, "ok")
        assert backend.adopt(handle)
        started = time.monotonic()
        await backend.stop(handle, signal.SIGTERM, 0.3)
        assert time.monotonic() - started >= 0.3
        assert not pid_alive(handle.pid)
        assert exits.seen == [(handle, ExitInfo(known=False))]
        await backend.close()
    try:
        run(scenario)
    finally:
        _kill(handle.pid)


def test_a_recycled_pid_is_neither_adopted_nor_signalled() -> None:
    stranger = start_stranger("exec sleep 600")
    assert stranger.create_time is not None
    recycled = replace(stranger, create_time=stranger.create_time - 100)

    async def scenario() -> None:
        backend, exits = make_backend()
        assert not backend.adopt(recycled)
        assert not backend.adopt(replace(stranger, create_time=None))  # unprovable
        pidfd = os.pidfd_open(stranger.pid)
        try:
            backend.signal(recycled, signal.SIGKILL)
            await backend.stop(recycled, signal.SIGKILL, 0.1)
            ended, _, _ = select.select([pidfd], [], [], 0.3)
        finally:
            os.close(pidfd)
        assert ended == [] and procinfo.is_same_process(stranger.pid, stranger.create_time)
        await backend.close()
        assert exits.seen == []
    try:
        run(scenario)
    finally:
        _kill(stranger.pid)


def test_a_gone_process_is_not_adopted(tmp_path: Path) -> None:
    async def scenario() -> None:
        backend, exits = make_backend()
        h = await backend.spawn(spec(tmp_path), sh("exit 0"), tmp_path / "p.log")
        await exits.next()
        fresh, _ = make_backend()
        assert not fresh.adopt(h)
        assert not fresh.adopt(Handle("t:x", 0, "subprocess", 1.0))
        await backend.close()
        await fresh.close()
    run(scenario)


def test_a_fresh_backend_adopting_its_own_child_reaps_it_with_a_known_status(
        tmp_path: Path) -> None:
    """A backend closed with leave_running (a daemon restarting in-process, or tests): the
    process is still our child, so its status can be known and no zombie is left."""
    async def scenario() -> None:
        first, _ = make_backend()
        h = await first.spawn(spec(tmp_path), ("sleep", "600"), tmp_path / "p.log")
        await first.close(leave_running=True)
        second, exits = make_backend()
        assert second.adopt(h)
        second.signal(h, signal.SIGTERM)
        _, info = await exits.next()
        assert info == ExitInfo(signal=signal.SIGTERM)
        assert not is_our_child(h.pid)
        await second.close()
    run(scenario)


def test_a_test_popen_child_adopted_is_reaped_by_the_backend() -> None:
    proc = subprocess.Popen(["sleep", "600"], start_new_session=True)
    handle = Handle("t:popen", proc.pid, "subprocess", procinfo.create_time(proc.pid))

    async def scenario() -> None:
        backend, exits = make_backend()
        assert backend.adopt(handle)
        proc.kill()
        _, info = await exits.next()
        assert info == ExitInfo(signal=signal.SIGKILL)
        await backend.close()
    try:
        run(scenario)
    finally:
        proc.kill()
        proc.poll()  # the backend reaped it; this only settles Popen's own record


def _kill(pid: int) -> None:
    """Cleanup for a test that failed half-way; the process is not ours to reap."""
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)
    retry_until(lambda: not pid_alive(pid), WAIT, what=f"pid {pid} to die")
