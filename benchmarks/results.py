"""The figures of one run as a table: both tools side by side and their ratio.

Every figure is one where lower is better (time, memory, CPU), so the ratio is always
wezparallel / supervisord: below 1 means wezparallel is lighter or quicker.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

WEZ, SUP = "wezparallel", "supervisord"


@dataclass(frozen=True)
class Figure:
    """What a family measures: a stable key, the label a reader sees, the unit."""

    key: str
    label: str
    unit: str
    both: bool = True  # False: wezparallel only (supervisord has no such feature)


Measured = dict[str, float]  # figure key -> value, for one tool


@dataclass(frozen=True)
class Row:
    """One figure. A value of None means not measured: not applicable, or the run failed
    (then `note` says why)."""

    key: str  # stable identifier the CI test checks
    figure: str  # what a reader sees
    unit: str
    wezparallel: float | None
    supervisord: float | None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.wezparallel is None or not self.supervisord:
            return None
        return self.wezparallel / self.supervisord


def failed(key: str, figure: str, unit: str, reason: str) -> Row:
    return Row(key, figure, unit, None, None, f"not measured: {reason}")


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "%":
        return f"{value:.2f}"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}"


def render_table(rows: Sequence[Row]) -> str:
    lines = [f"| figure | unit | {WEZ} | {SUP} | ratio | note |",
             "|---|---|---:|---:|---:|---|"]
    for r in rows:
        ratio = f"{r.ratio:.2f}" if r.ratio is not None else "n/a"
        lines.append(f"| {r.figure} | {r.unit} | {_number(r.wezparallel, r.unit)} | "
                     f"{_number(r.supervisord, r.unit)} | {ratio} | {r.note} |")
    return "\n".join(lines)


def _version(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return "not installed"
    return (done.stdout or done.stderr).strip().splitlines()[0] if done.returncode == 0 else "?"


def machine_info(versions: dict[str, str]) -> list[str]:
    """Where and with what the figures were taken; they mean little without it."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            models = [ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")]
        cpu = models[0] if models else cpu
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        f"- date: {dt.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- machine: {platform.system()} {platform.release()}, {os.cpu_count()} cores "
        f"({cpu}), {psutil.virtual_memory().total / 2**30:.1f} GiB RAM, "
        f"load average before the run {load}",
        f"- python: {platform.python_version()}",
        *(f"- {name}: {version}" for name, version in versions.items()),
    ]


def tool_versions(wezparallel_bin: Path, supervisord_bin: Path) -> dict[str, str]:
    return {WEZ: _version([str(wezparallel_bin), "--version"]),
            SUP: _version([str(supervisord_bin), "--version"]),
            "tmux": _version(["tmux", "-V"])}


def render_report(rows: Sequence[Row], info: list[str], quick: bool, seconds: float,
                  method: Sequence[str] = ()) -> str:
    mode = "quick mode (few processes, few samples: a smoke run, not figures to quote)" \
        if quick else "full run"
    return "\n".join([
        "# wezparallel vs supervisord: benchmark results",
        "",
        f"Written by `make bench` (`python -m benchmarks{' --quick' if quick else ''}`), "
        f"{mode}, in {seconds:.0f} s. Both tools ran the same workloads in this one run on "
        "this one machine; each figure is measured from outside the daemon (its pid in /proc, "
        "its socket, its command-line client). Ratio = wezparallel / supervisord: below 1 "
        "means wezparallel is lighter or quicker.",
        "",
        *info,
        "",
        render_table(rows),
        "",
        "## How each figure is taken",
        "",
        *method,
    ])
