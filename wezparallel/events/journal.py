"""The event journal: SQLite in the state dir, one transaction per batch.

The bus hands over everything published during one loop iteration at once, so a burst of a
thousand events is one `executemany` and one commit (WAL: see `wezparallel.sqlitefile`; at
worst the last batch is lost to a power cut, never to a SIGKILL).

`seq` continues from the highest one stored, so it increases per state dir across restarts.
Like the metrics history, the journal is never a reason to stop supervising: a SQLite or file
error is logged once and the journal turns `disabled`; numbering then continues in memory.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path

from wezparallel.events.model import Event
from wezparallel.sqlitefile import OptionalDatabase

FILE_NAME = "events.sqlite"
PRUNE_EVERY = 3600.0  # seconds between retention passes
READ_CHUNK = 2000  # rows fetched per query while reading

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY, time REAL NOT NULL, type TEXT NOT NULL, id TEXT,
    body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_time ON events (time);
"""


class Journal(OptionalDatabase):
    name = "event journal"
    without = "a journal"

    def __init__(self, path: Path, retention: float = 7 * 86400.0) -> None:
        self.retention = retention  # seconds; 0 keeps everything
        self._last_prune: float | None = None
        super().__init__(path, SCHEMA, timeout=2.0)

    def last_seq(self) -> int:
        def read() -> int:
            assert self._db is not None
            row = self._db.execute("SELECT MAX(seq) FROM events").fetchone()
            return int(row[0] or 0)

        return self._guard(read, 0)

    def last_time(self) -> float | None:
        """When the newest stored event happened: at start-up, the last sign of the daemon
        before us."""
        def read() -> float | None:
            assert self._db is not None
            row = self._db.execute("SELECT MAX(time) FROM events").fetchone()
            return None if row[0] is None else float(row[0])

        return self._guard(read, None)

    def append(self, batch: Sequence[Event]) -> None:
        """Store one batch in one transaction."""
        if not batch:
            return

        def write() -> None:
            rows = [(e.seq, e.time, e.type, e.id, json.dumps(e.to_json(), separators=(",", ":")))
                    for e in batch]
            with self._transaction() as db:
                db.executemany("INSERT OR REPLACE INTO events (seq, time, type, id, body) "
                               "VALUES (?, ?, ?, ?, ?)", rows)

        self._guard(write, None)

    def prune(self, now: float) -> None:
        """Drop events older than the retention, at most once per PRUNE_EVERY."""
        if self.retention <= 0 or (self._last_prune is not None
                                   and now - self._last_prune < PRUNE_EVERY):
            return
        self._last_prune = now

        def run() -> None:
            assert self._db is not None
            self._db.execute("DELETE FROM events WHERE time < ?", (now - self.retention,))

        self._guard(run, None)

    def read(self, *, after_seq: int = 0, upto_seq: int | None = None,
             since_time: float | None = None,
             types: Collection[str] | None = None) -> Iterator[Event]:
        """Stored events in seq order, in chunks so a big journal never sits in memory."""
        last = after_seq
        while True:
            empty: list[Event] = []
            chunk = self._guard(functools.partial(self._chunk, last, upto_seq, since_time,
                                                  types), empty)
            yield from chunk
            if len(chunk) < READ_CHUNK:
                return
            last = chunk[-1].seq

    def _chunk(self, after_seq: int, upto_seq: int | None, since_time: float | None,
               types: Collection[str] | None) -> list[Event]:
        assert self._db is not None
        sql = "SELECT body FROM events WHERE seq > ?"
        args: list[object] = [after_seq]
        if upto_seq is not None:
            sql, args = sql + " AND seq <= ?", [*args, upto_seq]
        if since_time is not None:
            sql, args = sql + " AND time >= ?", [*args, since_time]
        if types:
            sql += f" AND type IN ({', '.join('?' * len(types))})"
            args = [*args, *types]
        sql += f" ORDER BY seq LIMIT {READ_CHUNK}"
        return [Event.from_json(json.loads(row[0])) for row in self._db.execute(sql, args)]
