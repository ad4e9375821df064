"""Timing, statistics and /proc measurements shared by every workload.

Both tools are measured by the same functions from outside, so a difference in a figure is a
difference between the tools, not between two ways of measuring. Real time is the point here:
this module (and only this one) reads clocks and sleeps.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import statistics
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import psutil

from wezparallel.metrics.settings import MetricsSettings

MB = 1024 * 1024


class BenchError(Exception):
    """A workload could not be measured (a daemon did not come up, a deadline passed)."""


@dataclass(frozen=True)
class Budget:
    """How much of each workload one run measures; `quick` keeps CI under a minute and a half."""

    quick: bool
    processes: int = 100  # the workspace most figures use
    small: int = 10  # the small workspace (RSS with 10 processes, reload)
    idle_seconds: float = 30.0  # window of the idle-CPU figures
    settle_seconds: float = 2.0  # quiet time before RSS is read
    # Before an idle-CPU window that means "nobody looking": after a `status`, wezparallel's
    # metrics sampler keeps its fast pace for its watch grace. Both tools wait the same.
    quiet_seconds: float = MetricsSettings().watch_grace
    cold_start_samples: int = 7  # cold starts per tool; the figure is their median
    crash_samples: int = 20
    reload_samples: int = 20
    status_samples: int = 20  # in-process status calls
    command_samples: int = 10  # `status` as a command
    scale_status_samples: int = 3  # status calls of the big workspace (seconds each, at times)
    scale: int = 1000
    panes: int = 8
    pane_samples: int = 5

    @classmethod
    def for_mode(cls, quick: bool) -> Budget:
        if not quick:
            return cls(quick=False)
        return cls(quick=True, processes=20, small=5, idle_seconds=3.0, settle_seconds=1.0,
                   quiet_seconds=0.0, cold_start_samples=1,
                   crash_samples=3, reload_samples=3, status_samples=5, command_samples=3,
                   scale=50, pane_samples=2)


def now() -> float:
    return time.monotonic()


def ms_since(start: float) -> float:
    return (time.monotonic() - start) * 1000.0


def median(values: Iterable[float]) -> float:
    return float(statistics.median(list(values)))


def p95(values: Iterable[float]) -> float:
    """Nearest-rank 95th percentile: with 20 samples, the 19th smallest."""
    ordered = sorted(values)
    if not ordered:
        raise BenchError("p95 of no samples")
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def wait_until(predicate: Callable[[], bool], timeout: float, what: str,
               interval: float = 0.005) -> float:
    """Poll `predicate` until true; seconds it took. BenchError when `timeout` passes first."""
    start = time.monotonic()
    deadline = start + timeout
    while True:
        if predicate():
            return time.monotonic() - start
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def pause(seconds: float) -> None:
    time.sleep(seconds)


def rss_mb(pid: int) -> float:
    """Resident memory of the process itself (not its children), in MB."""
    return psutil.Process(pid).memory_info().rss / MB


def _thread_cpu_ns(pid: int) -> dict[str, int]:
    """CPU time of each thread in ns from /proc/PID/task/*/schedstat; {} when unavailable.

    Nanosecond precision matters: an idle daemon uses a few ms over the whole window, below
    the 10 ms tick of utime/stime.
    """
    out: dict[str, int] = {}
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat", encoding="ascii") as f:
                out[tid] = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return out


def cpu_seconds(pid: int) -> float:
    """CPU time the process has used so far (all threads), from utime + stime."""
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def idle_cpu_percent(pid: int, seconds: float) -> float:
    """Share of one core the process used over `seconds` of doing nothing asked of it.

    Threads alive at the end count from the start of the window (or from their birth); a thread
    that ends inside the window is caught by the utime+stime figure, the larger of the two wins.
    """
    before, ticks_before, start = _thread_cpu_ns(pid), cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    after, ticks_after = _thread_cpu_ns(pid), cpu_seconds(pid)
    wall = time.monotonic() - start
    precise = sum(ns - before.get(tid, 0) for tid, ns in after.items()) / 1e9
    return max(precise, ticks_after - ticks_before - 0.01) / wall * 100.0


def run_command(argv: list[str], timeout: float = 60.0,
                env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a control command to completion; its exit status is the caller's business."""
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env,
                          check=False)


def time_command_ms(argv: list[str], env: dict[str, str] | None = None) -> float:
    start = time.monotonic()
    done = run_command(argv, env=env)
    elapsed = ms_since(start)
    if not done.stdout.strip():
        raise BenchError(f"{' '.join(argv)} printed nothing: {done.stderr.strip()[:300]}")
    return elapsed


def last_line(path: Path) -> str:
    """The last non-empty line of a log: a Python traceback's own message, for instance."""
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return lines[-1] if lines else "(empty log)"


def child_count(pid: int) -> int:
    """Direct children of the process, from /proc/PID/task/*/children: cheap enough to poll
    every few ms even with 1000 children, unlike a scan of all of /proc."""
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", encoding="ascii") as f:
                total += len(f.read().split())
        except OSError:
            continue
    return total


def descendants(pid: int) -> set[int]:
    try:
        return {c.pid for c in psutil.Process(pid).children(recursive=True)}
    except psutil.NoSuchProcess:
        return set()


def stop_daemon(proc: subprocess.Popen[bytes], grace: float = 60.0) -> None:
    """SIGTERM the daemon, wait for it (it stops its children), then kill whatever is left.

    The daemon is started in its own session, so its process group catches anything that
    escaped; children that made their own groups are found from the tree taken beforehand.
    """
    tree = descendants(proc.pid)
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    _kill_group(proc.pid)
    kill_pids(tree)


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def kill_pids(pids: Iterable[int]) -> None:
    """SIGKILL each pid still alive and wait until all are gone (or zombies of someone else)."""
    alive = []
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            proc.kill()
            alive.append(proc)
        except psutil.NoSuchProcess:
            continue
    psutil.wait_procs(alive, timeout=10)
