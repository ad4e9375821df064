"""Idle CPU again, with wezparallel's metrics sampler off (`--metrics-interval 0`).

supervisord samples nothing, so this row compares the two supervision loops alone; the
difference from the `footprint` idle-CPU row is what the default metrics sampling costs.
supervisord is measured again in its own session, under the same conditions.
"""

from __future__ import annotations

from benchmarks import harness as h
from benchmarks.footprint import idle_cpu
from benchmarks.results import Figure, Measured
from benchmarks.session import Tool

NO_METRICS = ("--metrics-interval", "0")


def figures(b: h.Budget) -> list[Figure]:
    return [Figure("idle_cpu_no_metrics", f"idle CPU over {b.idle_seconds:g} s, "
                   f"{b.processes} processes, wezparallel metrics off", "%")]


def measure(tool: Tool, b: h.Budget) -> Measured:
    return {"idle_cpu_no_metrics": idle_cpu(tool, b)}
