"""Process identity from /proc: start times that agree with psutil, pid reuse detected."""

from __future__ import annotations

import os
import subprocess

import psutil

from wezparallel.backends.procinfo import create_time, is_alive, is_same_process


def test_start_times_agree_with_psutil() -> None:
    with subprocess.Popen(["sleep", "600"]) as proc:
        try:
            for pid in (os.getpid(), proc.pid):
                ours = create_time(pid)
                assert ours is not None
                assert abs(ours - psutil.Process(pid).create_time()) < 0.011
        finally:
            proc.kill()


def test_same_process_needs_a_live_pid_and_its_own_start_time() -> None:
    me = create_time(os.getpid())
    assert me is not None
    assert is_same_process(os.getpid(), me)
    assert not is_same_process(os.getpid(), me - 100)
    assert not is_same_process(os.getpid(), None)
    assert not is_same_process(0, me)
    assert not is_same_process(2**22 + 1, me)  # above pid_max: nobody
    assert create_time(2**22 + 1) is None


def test_a_zombie_is_not_alive() -> None:
    proc = subprocess.Popen(["true"])
    os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)  # ended, not yet reaped
    try:
        assert not is_alive(proc.pid)
        assert not is_same_process(proc.pid, create_time(proc.pid))
    finally:
        proc.wait()
