"""Pure rendering with fixed inputs: exact lines are the specification here."""

from __future__ import annotations

from datetime import UTC

import pytest

from tests.metrics.snapshots import GB, MB, SYSTEM, sample, snapshot
from wezparallel.metrics import render
from wezparallel.metrics.snapshot import Snapshot, SystemSample

SNAP = snapshot(
    1_700_000_045.0,
    sample("web:api", 12.5, 120 * MB, pid=4242, threads=4, open_files=12, children=2),
    sample("agents:claude-frontend", 48.0, 512 * MB, pid=4300, threads=20, open_files=40,
           children=5),
    sample("web:db", 0.0, 2 * GB, pid=4100, threads=30, open_files=80, children=0),
)


def test_top_sorted_by_cpu_fits_a_standard_terminal() -> None:
    assert render.top_lines(SNAP, "cpu", width=80, height=24, tz=UTC) == [
        "wezparallel top  22:14:05  by cpu  (c/m: sort by cpu/mem, q: quit)",
        "system  cpu 37.5% of 2 cores  load 0.52 0.40 0.31  mem 3.0G of 8.0G (37.5%)",
        "managed 3 processes  cpu 60.5%  rss 2.6G",
        "disk    /var/state  40% of 50G  (30G free)",
        "",
        "ID                          PID    CPU%     RSS   THR    FDS  KIDS",
        "agents:claude-frontend     4300    48.0    512M    20     40     5",
        "web:api                    4242    12.5    120M     4     12     2",
        "web:db                     4100     0.0    2.0G    30     80     0",
    ]


def test_top_sorted_by_memory_in_a_small_window_says_what_is_hidden() -> None:
    assert render.top_lines(SNAP, "mem", width=50, height=8, tz=UTC) == [
        "wezparallel top  22:14:05  by mem  (c/m: sort by c",
        "system  cpu 37.5% of 2 cores  load 0.52 0.40 0.31",
        "managed 3 processes  cpu 60.5%  rss 2.6G",
        "disk    /var/state  40% of 50G  (30G free)",
        "",
        "ID          PID    CPU%     RSS   THR    FDS  KIDS",
        "web:db     4100     0.0    2.0G    30     80     0",
        "… 2 more",
    ]


def test_narrow_terminal_shortens_ids_not_figures() -> None:
    lines = render.table_lines(SNAP.processes, width=52)
    assert lines == [
        "ID            PID    CPU%     RSS   THR    FDS  KIDS",
        "web:api      4242    12.5    120M     4     12     2",
        "agents:…     4300    48.0    512M    20     40     5",
        "web:db       4100     0.0    2.0G    30     80     0",
    ]


@pytest.mark.parametrize("height", range(0, 12))
def test_top_never_exceeds_its_window(height: int) -> None:
    lines = render.top_lines(SNAP, "cpu", width=30, height=height, tz=UTC)
    assert len(lines) <= height and all(len(line) <= 30 for line in lines)


def test_top_with_no_processes_and_no_disks() -> None:
    system = SystemSample(0.0, 1, GB, GB, 0.0, (0.0, 0.0, 0.0), ())
    lines = render.top_lines(Snapshot(0.0, (), system), "cpu", 80, 24, tz=UTC)
    assert lines[1:] == [
        "system  cpu 0.0% of 1 core  load 0.00 0.00 0.00  mem 0B of 1.0G (0.0%)",
        "managed 0 processes  cpu 0.0%  rss 0B",
        "",
        "ID        PID    CPU%     RSS   THR    FDS  KIDS",
    ]


def test_ties_are_broken_by_the_other_figure_then_the_id() -> None:
    procs = [sample("b", 5.0, 10), sample("a", 5.0, 10), sample("c", 5.0, 20),
             sample("d", 9.0, 1)]
    assert [p.id for p in render.sort_processes(procs, "cpu")] == ["d", "c", "a", "b"]
    assert [p.id for p in render.sort_processes(procs, "mem")] == ["c", "a", "b", "d"]


@pytest.mark.parametrize(("size", "text"), [
    (0, "0B"), (1023, "1023B"), (1024, "1.0K"), (1536, "1.5K"), (10 * 1024, "10K"),
    (120 * MB, "120M"), (1023 * MB, "1023M"), (int(2.5 * GB), "2.5G"), (3 * 1024 * GB, "3.0T"),
    (5000 * 1024**5, "5000P"),
])
def test_human_size(size: int, text: str) -> None:
    assert render.human_size(size) == text


def test_sparkline_uses_all_eight_blocks_across_the_range() -> None:
    assert render.sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"
    assert render.sparkline([7, 0, 7]) == "█▁█"


def test_sparkline_with_fixed_bounds_and_clamping() -> None:
    assert render.sparkline([0, 50, 100, 150], lo=0, hi=100) == "▁▅██"
    assert render.sparkline([50], lo=0, hi=100) == "▅"


def test_sparkline_flat_and_empty() -> None:
    assert render.sparkline([3.0, 3.0, 3.0]) == "▁▁▁"
    assert render.sparkline([]) == ""


def test_long_series_are_bucketed_keeping_peaks() -> None:
    values = [0.0] * 100
    values[55] = 10.0  # one spike in the sixth bucket of ten
    assert render.sparkline(values, width=10) == "▁▁▁▁▁█▁▁▁▁"
    assert len(render.sparkline(list(range(1000)), width=37)) == 37
    assert render.sparkline([1.0, 2.0], width=10) == "▁█"  # short series are not stretched


def test_snapshot_json_round_trip() -> None:
    import json

    data = json.loads(json.dumps(SNAP.to_json()))
    assert Snapshot.from_json(data) == SNAP
    assert data["system"]["disks"][0]["path"] == SYSTEM.disks[0].path
