"""pidfd watching: one report per end, known status for children, unknown for strangers."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess

import pytest

from tests.backends.kit import start_stranger
from tests.support import pid_alive, retry_until
from wezparallel.backends.procwatch import PidWatch, exit_info_from_siginfo
from wezparallel.plan.lifecycle import ExitInfo


async def _ended(pid: int) -> tuple[ExitInfo, int]:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[ExitInfo] = loop.create_future()
    calls = 0

    def on_end(w: PidWatch) -> None:
        nonlocal calls
        calls += 1
        done.set_result(w.reap())
        w.close()

    watch = PidWatch(loop, pid, on_end)
    info = await asyncio.wait_for(done, 15)
    for _ in range(3):
        await asyncio.sleep(0)
    watch.close()  # twice is fine
    return info, calls


def test_a_child_exit_is_reaped_with_its_code() -> None:
    proc = subprocess.Popen(["sh", "-c", "exit 4"])
    info, calls = asyncio.run(_ended(proc.pid))
    assert (info, calls) == (ExitInfo(code=4), 1)
    with pytest.raises(ChildProcessError):
        os.waitpid(proc.pid, os.WNOHANG)
    proc.returncode = 4  # reaped above, through the pidfd


def test_a_zombie_is_reported_at_once() -> None:
    proc = subprocess.Popen(["sh", "-c", "kill -KILL $$"])
    os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
    info, _ = asyncio.run(_ended(proc.pid))
    assert info == ExitInfo(signal=signal.SIGKILL)
    proc.returncode = -9


def test_a_stranger_end_is_unknown() -> None:
    handle = start_stranger("exec sleep 600")

    async def scenario() -> tuple[ExitInfo, int]:
        task = asyncio.ensure_future(_ended(handle.pid))
        await asyncio.sleep(0)
        os.kill(handle.pid, signal.SIGKILL)
        return await task

    assert asyncio.run(scenario()) == (ExitInfo(known=False), 1)
    retry_until(lambda: not pid_alive(handle.pid), 15, what="the stranger to die")


def test_no_such_process_raises() -> None:
    async def scenario() -> None:
        with pytest.raises(ProcessLookupError):
            PidWatch(asyncio.get_running_loop(), 2**22 + 1, lambda w: None)
    asyncio.run(scenario())


def test_siginfo_translation() -> None:
    assert exit_info_from_siginfo(os.CLD_EXITED, 0) == ExitInfo(code=0)
    assert exit_info_from_siginfo(os.CLD_KILLED, 15) == ExitInfo(signal=15)
    assert exit_info_from_siginfo(os.CLD_DUMPED, 11) == ExitInfo(signal=11)
    assert exit_info_from_siginfo(os.CLD_STOPPED, 19) == ExitInfo(known=False)
