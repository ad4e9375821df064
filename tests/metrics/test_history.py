"""History in a real SQLite file, with explicit timestamps instead of waiting."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.metrics.snapshots import GB, MB, sample, snapshot
from wezparallel.metrics.history import SYSTEM_ID, History, Point
from wezparallel.metrics.settings import DAY, HOUR, MetricsSettings

T0 = 1_700_000_040.0  # a minute boundary


def kept(h: History, process_id: str = "ws:a") -> tuple[int, int]:
    """(raw samples, minute aggregates) held for one process."""
    return (len(h.series(process_id, 0, 1e12, resolution="raw").points),
            len(h.series(process_id, 0, 1e12, resolution="minute").points))


@pytest.fixture
def history(tmp_path: Path) -> Iterator[History]:
    h = History(tmp_path / "metrics.sqlite")
    yield h
    h.close()


def test_raw_samples_come_back_in_order(history: History) -> None:
    for i, cpu in enumerate([5.0, 15.0, 25.0]):
        history.record(snapshot(T0 + 5 * i, sample("ws:a", cpu, 100 * MB + i)))
    series = history.series("ws:a", T0, T0 + 60)
    assert history.enabled and series.resolution == "raw"
    assert [(p.t, p.cpu, p.rss) for p in series.points] == [
        (T0, 5.0, 100 * MB), (T0 + 5, 15.0, 100 * MB + 1), (T0 + 10, 25.0, 100 * MB + 2)]
    assert history.series("ws:other", T0, T0 + 60).points == ()


def test_minute_aggregates_hold_average_and_maximum(history: History) -> None:
    for offset, cpu, rss in [(0, 10.0, 100), (20, 20.0, 200), (59, 60.0, 300), (61, 1.0, 50)]:
        history.record(snapshot(T0 + offset, sample("ws:a", cpu, rss)))
    series = history.series("ws:a", T0 - 3 * HOUR, T0 + 60, resolution="auto")
    assert series.resolution == "minute"  # longer than raw_query_span
    assert series.points == (Point(T0, 30.0, 200.0, 60.0, 300), Point(T0 + 60, 1.0, 50.0, 1.0, 50))


def test_the_system_is_recorded_under_its_own_id(history: History) -> None:
    history.record(snapshot(T0, sample("ws:a", 1.0, 1)))
    (point,) = history.series(SYSTEM_ID, T0, T0).points
    assert point.cpu == 37.5 and point.rss == 3 * GB  # total minus available


def test_retention_prunes_raw_after_a_day_and_minutes_after_a_week(history: History) -> None:
    history.record(snapshot(T0, sample("ws:a", 10.0, 1)))
    history.record(snapshot(T0 + DAY + 120, sample("ws:a", 20.0, 2)))
    assert history.series("ws:a", T0, T0 + 60, resolution="raw").points == ()
    assert [p.cpu for p in history.series("ws:a", T0, T0 + 60, resolution="minute").points] \
        == [10.0]
    history.record(snapshot(T0 + 7 * DAY + 120, sample("ws:a", 30.0, 3)))
    assert history.series("ws:a", T0, T0 + 60, resolution="minute").points == ()
    assert kept(history) == (1, 2)  # the newest sample; the two newest minutes
    assert history.counts() == (2, 4)  # the same again for the system's own rows


def test_retention_is_configurable_and_pruning_waits_for_its_turn(tmp_path: Path) -> None:
    settings = MetricsSettings(raw_retention=600, aggregate_retention=3600, prune_every=300)
    h = History(tmp_path / "m.sqlite", settings)
    try:
        h.record(snapshot(T0, sample("ws:a", 1.0, 1)))  # prunes (first pass), nothing to drop
        h.record(snapshot(T0 + 700, sample("ws:a", 2.0, 2)))  # due again: drops T0's raw row
        assert kept(h) == (1, 2)
        h.record(snapshot(T0 + 3700, sample("ws:a", 3.0, 3)))  # drops T0 + 700 and T0's minute
        assert kept(h) == (1, 2)
        h.record(snapshot(T0 + 3800, sample("ws:a", 4.0, 4)))  # not due: pruned 100 s ago
        assert kept(h) == (2, 3)
        h.prune(T0 + 3800 + 4000)  # asked for: drops everything older than its retention
        assert kept(h) == (0, 0) and h.counts() == (0, 0)
    finally:
        h.close()


def test_one_transaction_per_pass_in_wal_mode(history: History) -> None:
    statements: list[str] = []
    assert history.enabled  # opens the file
    assert history._db is not None
    history._db.set_trace_callback(statements.append)
    history.record(snapshot(T0, *[sample(f"ws:p{i}", i, i) for i in range(50)]))
    assert [s for s in statements if s in ("BEGIN IMMEDIATE", "COMMIT")] == [
        "BEGIN IMMEDIATE", "COMMIT"]
    with sqlite3.connect(history.path) as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert other.execute("SELECT count(*) FROM raw").fetchone()[0] == 51
    other.close()


def test_file_is_made_by_the_first_pass_not_by_the_constructor(tmp_path: Path) -> None:
    """A daemon builds its History at start; the file (several fsyncs for a new state dir)
    waits for the first metrics pass, which runs in a worker thread an interval later."""
    path = tmp_path / "metrics.sqlite"
    h = History(path)
    try:
        assert not path.exists()
        h.record(snapshot(T0, sample("ws:a", 1.0, 1)))
        assert path.exists() and kept(h) == (1, 1)
    finally:
        h.close()


def test_history_survives_a_reopen(tmp_path: Path) -> None:
    first = History(tmp_path / "m.sqlite")
    first.record(snapshot(T0, sample("ws:a", 7.0, 70)))
    first.close()
    second = History(tmp_path / "m.sqlite")
    try:
        assert [p.cpu for p in second.series("ws:a", T0, T0).points] == [7.0]
    finally:
        second.close()


def test_corrupt_file_disables_history_once_and_never_raises(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "metrics.sqlite"
    path.write_bytes(os.urandom(8192))
    with caplog.at_level(logging.WARNING, logger="wezparallel.metrics.history"):
        h = History(path)
        h.record(snapshot(T0, sample("ws:a", 1.0, 1)))
        series = h.series("ws:a", T0, T0 + 60)
        h.prune(T0)
    assert not h.enabled
    assert h.reason is not None and "not a database" in h.reason and str(path) in h.reason
    assert series.resolution == "disabled" and series.points == ()
    assert len(caplog.records) == 1
    h.close()


def test_locked_database_disables_history(tmp_path: Path) -> None:
    path = tmp_path / "metrics.sqlite"
    h = History(path, MetricsSettings(busy_timeout=0.05))
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        h.record(snapshot(T0, sample("ws:a", 1.0, 1)))
        assert not h.enabled and h.reason is not None and "locked" in h.reason
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        h.close()


def test_unwritable_location_disables_history(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    h = History(blocker / "metrics.sqlite")
    assert not h.enabled and h.reason is not None
    h.record(snapshot(T0, sample("ws:a", 1.0, 1)))
    assert h.counts() == (0, 0)


def _open_in_read_only_dir(directory: Path) -> dict[str, object]:
    h = History(directory / "metrics.sqlite")
    h.record(snapshot(T0, sample("ws:a", 1.0, 1)))
    return {"enabled": h.enabled, "reason": h.reason}


def test_read_only_directory_disables_history() -> None:
    """Root ignores directory permissions, so as root the check runs in a forked child that
    has given up root for `nobody` (which cannot write a root-owned 0555 directory)."""
    directory = Path(tempfile.mkdtemp(prefix="wp-ro-"))
    os.chmod(directory, 0o555)
    try:
        if os.geteuid() != 0:
            result = _open_in_read_only_dir(directory)
        else:
            result = _in_child_as_nobody(directory)
    finally:
        shutil.rmtree(directory)
    assert result["enabled"] is False
    reason = str(result["reason"])  # sqlite's words, or the OS's when mkdir is refused first
    assert "unable to open database file" in reason or "Permission denied" in reason
    assert not (directory / "metrics.sqlite").exists()


def _in_child_as_nobody(directory: Path) -> dict[str, object]:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            os.close(read)
            os.setgid(65534)
            os.setuid(65534)
            os.write(write, json.dumps(_open_in_read_only_dir(directory)).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    return json.loads(data)  # type: ignore[no-any-return]


def test_closed_history_does_nothing(tmp_path: Path) -> None:
    h = History(tmp_path / "m.sqlite")
    h.close()
    h.record(snapshot(T0, sample("ws:a", 1.0, 1)))
    assert not h.enabled and h.series("ws:a", T0, T0).points == ()
