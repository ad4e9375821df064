"""Who a pid is: its start time, read cheaply from /proc, to tell a process from its pid's reuse.

A daemon that restarts finds pids in its state file. A pid alone proves nothing: the process may
have ended and the number been handed to somebody else. The pair (pid, start time) does, because
the kernel cannot give one pid to two processes that started at the same moment.

The start time is computed the way psutil computes `create_time()` on Linux (boot time from
/proc/stat plus the `starttime` clock ticks of /proc/PID/stat), so values agree with psutil's and
with what other backends store; reading two small files avoids importing psutil on the spawn path.
"""

from __future__ import annotations

import functools
import os
import time

SAME_PROCESS_TOLERANCE = 1.0
"""Seconds two start times may differ and still name one process. The boot time the kernel
reports moves when the wall clock is stepped (NTP, a VM resumed), shifting every start time;
a tolerance far below a second would then disown all running processes after a clock step.
Reusing a pid within one second of its previous owner's start needs the whole pid space to wrap
in that second, which does not happen."""


@functools.cache
def clock_ticks() -> int:
    return os.sysconf("SC_CLK_TCK")


def boot_time() -> float:
    """Seconds since the epoch at boot; read each time (it moves with wall-clock steps)."""
    with open("/proc/stat", "rb") as f:
        for line in f:
            if line.startswith(b"btime "):
                return float(line.split()[1])
    raise OSError("no btime line in /proc/stat")


def _stat_fields(pid: int) -> list[bytes] | None:
    """The fields of /proc/PID/stat after the command name (which may contain spaces and
    parentheses, hence the split at the last ')'); index 0 is the state letter."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    _, _, rest = data.rpartition(b")")
    return rest.split()


def create_time(pid: int) -> float | None:
    """When `pid` started, in seconds since the epoch; None when there is no such process."""
    fields = _stat_fields(pid)
    if fields is None or len(fields) < 20:
        return None
    try:
        return boot_time() + int(fields[19]) / clock_ticks()
    except (OSError, ValueError):
        return None


def create_time_of_fork_now() -> float:
    """The `create_time` a process forked at this moment gets, to within one clock tick.

    The kernel stamps a child's start with the boot-based clock at fork, in whole ticks. Reading
    that clock ourselves just before forking gives the same value without reading the child's
    /proc entry afterwards, which costs a millisecond of waiting while the child is still busy
    in exec (measured: about a fifth of the spawn time for 100 processes).
    """
    ticks = clock_ticks()
    since_boot = int(time.clock_gettime(time.CLOCK_BOOTTIME) * ticks) / ticks
    return boot_time() + since_boot


def group_of(pid: int) -> int | None:
    """The process group of `pid`; None when there is no such process."""
    fields = _stat_fields(pid)
    if fields is None or len(fields) < 3:
        return None
    try:
        return int(fields[2])
    except ValueError:
        return None


def is_alive(pid: int) -> bool:
    """Running or sleeping, not a zombie waiting to be reaped."""
    fields = _stat_fields(pid) if pid > 0 else None
    return fields is not None and len(fields) > 0 and fields[0] not in (b"Z", b"X")


def is_same_process(pid: int, started: float | None,
                    tolerance: float = SAME_PROCESS_TOLERANCE) -> bool:
    """True when `pid` is alive and is the process that started at `started`.

    An unknown start time proves nothing, so it is False: adopting a stranger (and later
    signalling its process group) is worse than starting a duplicate.
    """
    if pid <= 0 or started is None or not is_alive(pid):
        return False
    actual = create_time(pid)
    return actual is not None and abs(actual - started) <= tolerance
