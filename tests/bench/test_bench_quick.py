"""The benchmark harness in quick mode, so `make bench` cannot rot between full runs.

It checks the shape of what a run produces (every figure of every family, a number for each
tool, a ratio) and that a run leaves nothing behind. It never judges a timing: figures are
figures, compared by people reading RESULTS.md.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from benchmarks import harness, suite
from benchmarks.results import Row, render_table
from tests.support import short_tmpdir

REPO = Path(__file__).resolve().parents[2]
RUN_MARKER = "WEZPARALLEL_BENCH_TEST_RUN"


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def parse_table(text: str) -> dict[str, list[str]]:
    """label -> [unit, wezparallel, supervisord, ratio, note] for each data row of the table."""
    rows = {}
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith(("| figure", "|---")):
            cells = _cells(line)
            rows[cells[0]] = cells[1:]
    return rows


def number(cell: str) -> float:
    return float(cell.replace(",", ""))


def _marked_pids(token: bytes) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            marked = token in (entry / "environ").read_bytes().split(b"\0")
            zombie = ") Z" in (entry / "stat").read_text()
        except OSError:
            continue
        if marked and not zombie:
            found.append(int(entry.name))
    return found


@pytest.mark.timeout(400)
def test_quick_run_reports_every_figure_for_both_tools_and_leaves_nothing(
        tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    tmp = short_tmpdir("wpbt-")
    token = uuid.uuid4().hex
    env = dict(os.environ, TMPDIR=str(tmp), **{RUN_MARKER: token})
    try:
        done = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--out", str(out)],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=360,
                              check=False)
        leftovers = _marked_pids(f"{RUN_MARKER}={token}".encode())
        left_dirs = sorted(p.name for p in tmp.iterdir())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert leftovers == [], f"processes left running by the bench: {leftovers}"
    assert left_dirs == [], f"temp dirs left by the bench: {left_dirs}"

    report = out.read_text(encoding="utf-8")
    assert "## How each figure is taken" in report
    assert parse_table(done.stdout) == parse_table(report)
    table = parse_table(report)
    budget = harness.Budget.for_mode(quick=True)
    expected = [f for family in suite.FAMILIES for f in family.module.figures(budget)]
    assert sorted(table) == sorted(f.label for f in expected)
    for figure in expected:
        unit, wez, sup, ratio, note = table[figure.label]
        assert unit == figure.unit
        assert number(wez) >= 0, f"{figure.label}: wezparallel not measured: {note}"
        if figure.both:
            assert number(sup) >= 0, f"{figure.label}: supervisord not measured: {note}"
            # the ratio's arithmetic is pinned below; here: present wherever it can be computed
            assert number(ratio) >= 0 if number(sup) > 0 else ratio == "n/a"
        else:
            assert (sup, ratio) == ("n/a", "n/a")


def test_p95_is_nearest_rank_and_median_is_the_middle() -> None:
    samples = [float(x) for x in range(1, 21)]  # 1..20
    assert harness.p95(samples) == 19.0
    assert harness.p95([5.0, 1.0, 3.0]) == 5.0
    assert harness.median([3.0, 1.0, 2.0]) == 2.0


def test_table_shows_ratio_and_marks_what_was_not_measured() -> None:
    rows = [Row("a", "status", "ms", 5.0, 20.0), Row("b", "panes", "ms", 700.0, None, "only"),
            Row("c", "idle", "%", None, 0.1, "not measured: boom")]
    table = parse_table(render_table(rows))
    assert table["status"] == ["ms", "5.0", "20.0", "0.25", ""]
    assert table["panes"] == ["ms", "700", "n/a", "n/a", "only"]
    assert table["idle"] == ["%", "n/a", "0.10", "n/a", "not measured: boom"]
