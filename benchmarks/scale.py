"""Scale: a workspace of 1000 processes started, then one status of all, then idle CPU and RSS.

Same measurements as `footprint` and `control`, at ten times the size, to show how each
daemon's costs grow with the number of processes it watches. Idle CPU is taken as in
`footprint`: once nobody has called the daemon for wezparallel's watch grace.
"""

from __future__ import annotations

from benchmarks import harness as h
from benchmarks.control import status_call_ms
from benchmarks.results import Figure, Measured
from benchmarks.session import Tool, programs, running, wait_all_running

SCALE_TIMEOUT = 300.0  # seconds for 1000 processes to come up on 2 cores


def figures(b: h.Budget) -> list[Figure]:
    return [
        Figure("scale_start", f"scale: launch -> {b.scale} RUNNING", "ms"),
        Figure("scale_status", f"scale: status of {b.scale}, in-process client (median of "
               f"{b.scale_status_samples})", "ms"),
        Figure("scale_idle_cpu", f"scale: idle CPU over {b.idle_seconds:g} s, {b.scale} "
               "processes", "%"),
        Figure("scale_rss", f"scale: daemon RSS idle, {b.scale} processes", "MB"),
    ]


def measure(tool: Tool, b: h.Budget) -> Measured:
    out: Measured = {}
    with running(tool, programs(b.scale)) as session:
        out["scale_start"] = wait_all_running(session, b.scale, SCALE_TIMEOUT)
        h.pause(b.settle_seconds)
        calls = [status_call_ms(session, b.scale) for _ in range(b.scale_status_samples)]
        out["scale_status"] = h.median(calls)
        h.pause(b.quiet_seconds)  # nobody has looked for a while: the sampler's idle pace
        out["scale_idle_cpu"] = h.idle_cpu_percent(session.daemon_pid, b.idle_seconds)
        out["scale_rss"] = h.rss_mb(session.daemon_pid)
    return out
