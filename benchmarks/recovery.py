"""Crash recovery: SIGKILL a child, time until its daemon reports it RUNNING with a new pid.

Polled through each tool's API every millisecond on one connection (supervisord's
`getProcessInfo`, wezparallel's `status` of that one id), so this is what a watcher of the
API sees. Each sample kills a different process of a 100-process workspace, after a pause
that lets the daemon go idle again.
"""

from __future__ import annotations

import os
import signal

from benchmarks import harness as h
from benchmarks.footprint import START_TIMEOUT
from benchmarks.results import Figure, Measured
from benchmarks.session import (
    Session,
    Tool,
    current,
    programs,
    running,
    wait_all_running,
    wait_new_pid,
)

RECOVERY_TIMEOUT = 30.0  # seconds; supervisord alone may notice a death up to 1 s late
QUIET = 0.3  # seconds between samples


def figures(b: h.Budget) -> list[Figure]:
    return [
        Figure("crash_median", f"crash: SIGKILL -> RUNNING, new pid (median of "
               f"{b.crash_samples})", "ms"),
        Figure("crash_p95", f"crash: SIGKILL -> RUNNING, new pid (p95 of {b.crash_samples})",
               "ms"),
    ]


def crash_once(session: Session, name: str) -> float:
    old = current(session, name)
    assert old.pid is not None
    start = h.now()
    os.kill(old.pid, signal.SIGKILL)
    wait_new_pid(session, name, old.pid, RECOVERY_TIMEOUT)
    return h.ms_since(start)


def measure(tool: Tool, b: h.Budget) -> Measured:
    progs = programs(b.processes)
    names = list(progs)
    samples = []
    with running(tool, progs) as session:
        wait_all_running(session, b.processes, START_TIMEOUT)
        for i in range(b.crash_samples):
            h.pause(QUIET)
            samples.append(crash_once(session, names[i % len(names)]))
    return {"crash_median": h.median(samples), "crash_p95": h.p95(samples)}
