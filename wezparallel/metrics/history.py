"""Metric history in SQLite: raw samples for a day, one-minute aggregates for a week.

Each pass is one transaction: its raw rows, and the same values folded into the minute they fall
in (sums, counts and maxima, so an average is exact however many samples land in a minute and no
rollup job is needed). Expired rows are deleted at most once per `prune_every`.

History is a convenience, never a reason to stop supervising: any SQLite or file-system error
(a corrupt file, a lock held too long, a read-only state dir) is logged once, the object turns
`disabled` with the reason, and every later call does nothing (`wezparallel.sqlitefile`).
Times are wall-clock epoch seconds handed in by the caller.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wezparallel.metrics.settings import MINUTE, MetricsSettings
from wezparallel.metrics.snapshot import Snapshot
from wezparallel.sqlitefile import OptionalDatabase

SYSTEM_ID = "@system"  # the whole machine's row; process ids always contain ':'

SCHEMA = """
CREATE TABLE IF NOT EXISTS raw (
    process_id TEXT NOT NULL, t REAL NOT NULL, cpu REAL NOT NULL, rss INTEGER NOT NULL,
    threads INTEGER NOT NULL, fds INTEGER NOT NULL, children INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS raw_by_id ON raw (process_id, t);
CREATE INDEX IF NOT EXISTS raw_by_t ON raw (t);
CREATE TABLE IF NOT EXISTS minute (
    process_id TEXT NOT NULL, t REAL NOT NULL, n INTEGER NOT NULL,
    cpu_sum REAL NOT NULL, cpu_max REAL NOT NULL, rss_sum REAL NOT NULL, rss_max INTEGER NOT NULL,
    PRIMARY KEY (process_id, t)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS minute_by_t ON minute (t);
"""

FOLD = """
INSERT INTO minute (process_id, t, n, cpu_sum, cpu_max, rss_sum, rss_max)
VALUES (?, ?, 1, ?, ?, ?, ?)
ON CONFLICT (process_id, t) DO UPDATE SET
    n = n + 1, cpu_sum = cpu_sum + excluded.cpu_sum, cpu_max = max(cpu_max, excluded.cpu_max),
    rss_sum = rss_sum + excluded.rss_sum, rss_max = max(rss_max, excluded.rss_max)
"""


@dataclass(frozen=True)
class Point:
    """One point of a series; for a minute aggregate cpu/rss are averages over the minute."""

    t: float  # epoch seconds (the minute's start for aggregates)
    cpu: float  # percent of one core
    rss: float  # bytes
    cpu_max: float
    rss_max: int

    def to_json(self) -> dict[str, float]:
        return {"t": self.t, "cpu": self.cpu, "rss": self.rss,
                "cpu_max": self.cpu_max, "rss_max": self.rss_max}


@dataclass(frozen=True)
class Series:
    process_id: str
    resolution: str  # "raw" | "minute" | "disabled"
    points: tuple[Point, ...]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.process_id, "resolution": self.resolution,
                "points": [p.to_json() for p in self.points]}


class History(OptionalDatabase):
    """The metrics database; safe to call from the loop and one worker thread."""

    name = "metrics history"
    without = "history"

    def __init__(self, path: Path, settings: MetricsSettings | None = None) -> None:
        self.settings = settings or MetricsSettings()
        self._last_prune: float | None = None
        # Opened by the first metrics pass, in the runner's worker thread one interval after
        # start, so a daemon's start never waits for a new file's fsyncs.
        super().__init__(path, SCHEMA, self.settings.busy_timeout, threaded=True, lazy=True)

    def record(self, snapshot: Snapshot) -> None:
        """Store one pass (every process plus the system) in one transaction, then maybe prune."""
        now = snapshot.timestamp
        minute = now - now % MINUTE
        rows = [(p.id, now, p.cpu_percent, p.rss, p.threads, p.open_files, p.children)
                for p in snapshot.processes]
        sys_used = snapshot.system.memory_total - snapshot.system.memory_available
        rows.append((SYSTEM_ID, now, snapshot.system.cpu_percent, sys_used, 0, 0, 0))

        def write() -> None:
            with self._transaction() as db:
                db.executemany("INSERT INTO raw VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
                db.executemany(FOLD, [(r[0], minute, r[2], r[2], r[3], r[3]) for r in rows])
                if self._last_prune is None or now - self._last_prune >= self.settings.prune_every:
                    self._prune(db, now)

        self._guard(write, None)

    def prune(self, now: float) -> None:
        """Delete rows older than their retention, now rather than at the next due time."""
        def run() -> None:
            with self._transaction() as db:
                self._prune(db, now)

        self._guard(run, None)

    def _prune(self, db: sqlite3.Connection, now: float) -> None:
        db.execute("DELETE FROM raw WHERE t < ?", (now - self.settings.raw_retention,))
        db.execute("DELETE FROM minute WHERE t < ?", (now - self.settings.aggregate_retention,))
        self._last_prune = now

    def series(self, process_id: str, since: float, until: float,
               resolution: str = "auto") -> Series:
        """Points in [since, until]: raw samples for short ranges, minute aggregates beyond
        `raw_query_span` (or when asked: resolution "raw" or "minute")."""
        if resolution == "auto":
            short = until - since <= self.settings.raw_query_span
            resolution = "raw" if short else "minute"
        query = _RAW_QUERY if resolution == "raw" else _MINUTE_QUERY

        def read() -> tuple[Point, ...]:
            assert self._db is not None
            cur = self._db.execute(query, (process_id, since, until))
            return tuple(Point(t, cpu, rss, cpu_max, int(rss_max))
                         for t, cpu, rss, cpu_max, rss_max in cur.fetchall())

        none: tuple[Point, ...] = ()
        points = self._guard(read, none)
        return Series(process_id, resolution if self.enabled else "disabled", points)

    def counts(self) -> tuple[int, int]:
        """(raw rows, minute rows): for tests and `metrics` diagnostics."""
        def read() -> tuple[int, int]:
            assert self._db is not None
            raw = self._db.execute("SELECT count(*) FROM raw").fetchone()[0]
            minute = self._db.execute("SELECT count(*) FROM minute").fetchone()[0]
            return int(raw), int(minute)

        return self._guard(read, (0, 0))

    def close(self) -> None:
        super().close()
        if self.reason is None:
            self.reason = "closed"


_RAW_QUERY = """
SELECT t, cpu, rss, cpu, rss FROM raw WHERE process_id = ? AND t BETWEEN ? AND ? ORDER BY t"""
_MINUTE_QUERY = """
SELECT t, cpu_sum / n, rss_sum / n, cpu_max, rss_max FROM minute
WHERE process_id = ? AND t BETWEEN ? AND ? ORDER BY t"""
