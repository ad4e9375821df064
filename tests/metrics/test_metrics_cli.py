"""The CLI's pure formatting and its terminal handling; the daemon round trip is tested
end to end elsewhere (a real daemon serving metrics_snapshot / metrics_history)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import termios
from datetime import UTC

import pytest
from click.testing import CliRunner

from tests.metrics.snapshots import MB, sample, snapshot
from wezparallel.cli import metrics_cmds as cmds
from wezparallel.cli.ctl import cli
from wezparallel.errors import PermanentError
from wezparallel.metrics.settings import parse_duration

T0 = 1_700_000_040.0
POINTS = [cmds.HistoryPoint(T0, 5.0, 100 * MB), cmds.HistoryPoint(T0 + 60, 50.0, 300 * MB),
          cmds.HistoryPoint(T0 + 120, 25.0, 200 * MB)]


def test_history_csv() -> None:
    assert cmds.history_csv("ws:a", POINTS).splitlines() == [
        "id,t,time,cpu_percent,rss_bytes",
        "ws:a,1700000040.000,2023-11-14T22:14:00Z,5.0,104857600",
        "ws:a,1700000100.000,2023-11-14T22:15:00Z,50.0,314572800",
        "ws:a,1700000160.000,2023-11-14T22:16:00Z,25.0,209715200",
    ]


def test_history_json() -> None:
    data = json.loads(cmds.history_json("ws:a", 3600.0, POINTS[:1]))
    assert data == {"id": "ws:a", "since_seconds": 3600.0,
                    "points": [{"t": T0, "cpu": 5.0, "rss": 100 * MB}]}


def test_history_lines_for_a_pipe() -> None:
    assert cmds.history_lines(POINTS, tz=UTC) == [
        "2023-11-14 22:14:00  cpu   5.0%  rss   100M",
        "2023-11-14 22:15:00  cpu  50.0%  rss   300M",
        "2023-11-14 22:16:00  cpu  25.0%  rss   200M",
    ]
    assert cmds.history_lines([]) == ["no samples in that range"]


def test_sparklines_for_a_terminal() -> None:
    assert cmds.sparkline_lines("ws:a", "1h", POINTS, width=80) == [
        "ws:a  last 1h  (3 samples)",
        "cpu ▂█▅  now 25.0%  max 50.0%",
        "mem ▁█▅  now 200M  max 300M",
    ]
    assert cmds.sparkline_lines("ws:a", "15m", [], 80) == ["ws:a: no samples in the last 15m"]


def test_sparklines_are_cut_to_the_terminal_width() -> None:
    many = [cmds.HistoryPoint(T0 + i, float(i % 7), float(i)) for i in range(500)]
    lines = cmds.sparkline_lines("ws:a", "1h", many, width=60)
    assert all(len(line) <= 60 for line in lines)
    assert len(lines[1].split()[1]) == 24  # 60 minus room for the figures


def test_snapshot_csv_heaviest_cpu_first() -> None:
    snap = snapshot(T0, sample("ws:a", 1.0, 10, pid=1), sample("ws:b", 9.0, 20, pid=2,
                                                                children=3))
    assert cmds.snapshot_csv(snap).splitlines() == [
        "id,pid,cpu_percent,rss_bytes,threads,open_files,children",
        "ws:b,2,9.0,20,1,3,3",
        "ws:a,1,1.0,10,1,3,0",
    ]


def test_current_lines_have_no_title_or_key_help() -> None:
    snap = snapshot(T0, sample("ws:a", 1.0, 10 * MB, pid=7))
    lines = cmds.current_lines(snap, "cpu", 80)
    assert lines[0].startswith("system  cpu 37.5%")
    assert lines[-1] == "ws:a        7     1.0     10M     1      3     0"
    assert not any("quit" in line for line in lines)


def test_parse_daemon_answers() -> None:
    assert cmds.parse_points({"points": [{"t": 1, "cpu": 2, "rss": 3}]}) == [
        cmds.HistoryPoint(1.0, 2.0, 3.0)]
    with pytest.raises(PermanentError, match="unreadable metrics history"):
        cmds.parse_points({"points": [{"t": 1}]})
    snap = snapshot(T0, sample("ws:a", 1.0, 10))
    assert cmds.parse_snapshot(json.loads(json.dumps(snap.to_json()))) == snap
    with pytest.raises(PermanentError, match="unreadable metrics snapshot"):
        cmds.parse_snapshot({"timestamp": 1})


def test_frame_redraws_in_place() -> None:
    assert cmds.top_frame(["a", "bb"]) == "\x1b[Ha\x1b[K\nbb\x1b[K\n\x1b[J"


@pytest.mark.parametrize(("keys", "sort", "expected"), [
    ("", "cpu", ("cpu", False)), ("m", "cpu", ("mem", False)), ("M", "cpu", ("mem", False)),
    ("c", "mem", ("cpu", False)), ("mcx", "cpu", ("cpu", False)), ("q", "mem", ("mem", True)),
    ("mq", "cpu", ("mem", True)),
])
def test_keys(keys: str, sort: str, expected: tuple[str, bool]) -> None:
    assert cmds.next_sort(keys, sort) == expected


def test_cbreak_reads_single_keys_from_a_real_terminal_and_restores_it() -> None:
    master, slave = os.openpty()
    with os.fdopen(slave, "r") as terminal:
        before = termios.tcgetattr(slave)
        assert before[3] & termios.ICANON
        with cmds.cbreak(terminal) as fd:
            assert fd == slave
            assert not termios.tcgetattr(slave)[3] & (termios.ICANON | termios.ECHO)
            assert cmds.read_keys(fd, 0.0) == ""
            os.write(master, b"q")  # no Enter: canonical mode would hold it back
            assert cmds.read_keys(fd, 10.0) == "q"
        assert termios.tcgetattr(slave) == before
    os.close(master)


def test_cbreak_on_a_pipe_is_a_no_op() -> None:
    read, write = os.pipe()
    with os.fdopen(read, "r") as pipe, cmds.cbreak(pipe) as fd:
        assert fd is None
        assert cmds.read_keys(fd, 0.0) == ""
    os.close(write)


@pytest.mark.parametrize(("text", "seconds"), [
    ("90", 90.0), ("90s", 90.0), ("15m", 900.0), ("1h", 3600.0), ("1.5h", 5400.0),
    ("7d", 604800.0), ("1w", 604800.0), (" 2H ", 7200.0),
])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "h", "1x", "-1h", "1h30m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(PermanentError, match="invalid duration"):
        parse_duration(text)


@pytest.mark.parametrize(("args", "message"), [
    (["metrics", "ws:a", "--json", "--csv"], "--json and --csv exclude each other"),
    (["metrics", "ws:a", "--since", "yesterday"], "invalid duration 'yesterday'"),
    (["top", "--sort", "pid"], "'pid' is not one of 'cpu', 'mem'"),
])
def test_usage_errors_exit_2_before_contacting_anything(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["--socket", "/nonexistent/wp.sock", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_the_cli_module_does_not_load_psutil_or_sqlite() -> None:
    code = ("import sys, wezparallel.cli.metrics_cmds; "
            "print(sorted(m for m in ('psutil', 'sqlite3') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.strip() == "[]"
