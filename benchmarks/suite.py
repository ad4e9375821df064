"""Run each workload family on each tool and turn the figures into table rows.

A family that fails on one tool leaves that tool's figures empty with the reason in the note,
and the run goes on: one broken workload must not hide all the others' figures.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType

import psutil

from benchmarks import (
    control,
    events,
    footprint,
    harness,
    panes,
    recovery,
    reload,
    sampling,
    scale,
    statusbar,
)
from benchmarks.results import SUP, WEZ, Figure, Measured, Row
from benchmarks.session import Tool
from wezparallel.errors import WezparallelError

FAILURES = (harness.BenchError, WezparallelError, OSError, subprocess.SubprocessError,
            psutil.Error, KeyError, TypeError, ValueError)


@dataclass(frozen=True)
class Tools:
    """Each tool as a family needs it; supervisord is None when it could not be installed."""

    supervisord: Tool | None
    wezparallel: Tool  # subprocess backend, watcher off
    wezparallel_watching: Tool  # watcher on: reload on save
    wezparallel_tmux: Tool  # tmux backend
    wezparallel_quiet: Tool  # metrics sampler off


@dataclass(frozen=True)
class Family:
    name: str
    module: ModuleType
    pick: Callable[[Tools], dict[str, Tool | None]]


def _plain(t: Tools) -> dict[str, Tool | None]:
    return {SUP: t.supervisord, WEZ: t.wezparallel}


FAMILIES = (
    Family("footprint", footprint,
           lambda t: {SUP: t.supervisord, WEZ: t.wezparallel_watching}),
    Family("sampling", sampling, lambda t: {SUP: t.supervisord, WEZ: t.wezparallel_quiet}),
    Family("control", control, _plain),
    Family("recovery", recovery, _plain),
    Family("reload", reload, lambda t: {SUP: t.supervisord, WEZ: t.wezparallel_watching}),
    Family("scale", scale, _plain),
    Family("panes", panes, lambda t: {WEZ: t.wezparallel_tmux}),
    Family("events", events, lambda t: {WEZ: t.wezparallel}),
    Family("statusbar", statusbar, lambda t: {WEZ: t.wezparallel}),
)


def _one_line(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if not isinstance(exc, harness.BenchError) \
        else str(exc)
    return " ".join(text.split()).replace("|", "/")[:200]


def measure_family(family: Family, tools: Tools, budget: harness.Budget,
                   missing: dict[str, str]) -> list[Row]:
    figures: list[Figure] = family.module.figures(budget)
    results: dict[str, Measured] = {}
    notes: list[str] = []
    for name, tool in family.pick(tools).items():
        if tool is None:
            notes.append(f"{name}: {missing.get(name, 'not available')}")
            continue
        start = harness.now()
        try:
            results[name] = family.module.measure(tool, budget)
        except FAILURES as exc:
            notes.append(f"{name} failed: {_one_line(exc)}")
        print(f"benchmarks: {family.name} on {name}: {harness.ms_since(start) / 1000:.1f} s",
              file=sys.stderr, flush=True)
    return [_row(f, results, notes) for f in figures]


def _row(figure: Figure, results: dict[str, Measured], notes: list[str]) -> Row:
    wez = results.get(WEZ, {}).get(figure.key)
    sup = results.get(SUP, {}).get(figure.key) if figure.both else None
    note = "; ".join(([] if figure.both else [f"{WEZ} only"]) + notes)
    return Row(figure.key, figure.label, figure.unit, wez, sup, note)


def run(tools: Tools, budget: harness.Budget, only: Sequence[str] = (),
        missing: dict[str, str] | None = None) -> list[Row]:
    rows: list[Row] = []
    for family in FAMILIES:
        if not only or family.name in only:
            rows += measure_family(family, tools, budget, missing or {})
    return rows


def method() -> list[str]:
    """Each family's docstring, one paragraph each, for the report."""
    out = []
    for family in FAMILIES:
        doc = " ".join((family.module.__doc__ or "").split())
        out += [f"- **{family.name}**: {doc}", ""]
    return out
