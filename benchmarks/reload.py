"""Reload: save a changed file -> the changed process RUNNING with its new pid.

wezparallel reloads on the save by itself (its watcher is on); supervisord needs what its
users type after saving, `supervisorctl reread` then `supervisorctl update`, and that time is
part of its figure. The change alternates one program's command between two sleeps, so each
sample restarts exactly one process of the small workspace.
"""

from __future__ import annotations

from benchmarks import harness as h
from benchmarks.footprint import START_TIMEOUT
from benchmarks.recovery import QUIET, RECOVERY_TIMEOUT
from benchmarks.results import Figure, Measured
from benchmarks.session import (
    SLEEP,
    Session,
    Tool,
    current,
    programs,
    running,
    wait_all_running,
    wait_new_pid,
)

ALTERNATE = "sleep 1000001"


def figures(b: h.Budget) -> list[Figure]:
    return [
        Figure("reload_median", f"reload: save -> changed process new pid (median of "
               f"{b.reload_samples})", "ms"),
        Figure("reload_p95", f"reload: save -> changed process new pid (p95 of "
               f"{b.reload_samples})", "ms"),
    ]


def reload_once(session: Session, progs: dict[str, str], name: str) -> float:
    old = current(session, name)
    progs[name] = ALTERNATE if progs[name] == SLEEP else SLEEP
    start = h.now()
    session.save_programs(progs)
    session.apply_saved()
    wait_new_pid(session, name, old.pid, RECOVERY_TIMEOUT)
    return h.ms_since(start)


def measure(tool: Tool, b: h.Budget) -> Measured:
    progs = programs(b.small)
    samples = []
    with running(tool, progs) as session:
        wait_all_running(session, b.small, START_TIMEOUT)
        for _ in range(b.reload_samples):
            h.pause(QUIET)
            samples.append(reload_once(session, progs, "p0000"))
    return {"reload_median": h.median(samples), "reload_p95": h.p95(samples)}
