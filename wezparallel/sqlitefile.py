"""SQLite files in the state dir, opened one way: WAL, `synchronous=NORMAL`, write transactions.

WAL with `synchronous=NORMAL` makes a commit a write into the OS page cache: it survives the
daemon being SIGKILLed (the kernel still has it), and at worst the last transaction is lost to a
power cut. `BEGIN IMMEDIATE` takes the write lock up front, so a transaction never fails half
way for want of it.

`OptionalDatabase` is for the files the daemon can do without (the event journal, the metrics
history): a SQLite or file-system error (a corrupt file, a lock held too long, a read-only state
dir) is logged once and the file turns `disabled` with the reason; every later call returns its
default. Supervising matters more than a record of it. The task board's store is not optional
(a task change that is not on disk must not look made) and uses only `connect` and
`transaction`.

Neutral module: outside the import-linter layers, importing only `paths`, so metrics and every
layer above may use it.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from pathlib import Path
from typing import ClassVar, TypeVar

from wezparallel.paths import ensure_private_dir

T = TypeVar("T")


def connect(path: Path, timeout: float, *, threaded: bool = False) -> sqlite3.Connection:
    """An autocommit connection in WAL mode; closed again when the pragmas fail (a file that
    is not a database fails here)."""
    db = sqlite3.connect(path, timeout=timeout, isolation_level=None,
                         check_same_thread=not threaded)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
    except BaseException:
        db.close()
        raise
    return db


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction: committed when the block ends, rolled back when it raises."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


class OptionalDatabase:
    """A state-dir database that disables itself, for good and once, on its first failure.

    `threaded`: also used from one worker thread; every action then runs under a lock."""

    name: ClassVar[str]  # "event journal": for the reason
    without: ClassVar[str]  # "a journal": what the daemon carries on without

    def __init__(self, path: Path, schema: str, timeout: float, *,
                 threaded: bool = False, lazy: bool = False) -> None:
        """`lazy`: the file is opened (created, for a new state dir, with several fsyncs) by
        the first call that needs it rather than here, so a daemon's start need not wait."""
        self.path = path
        self.reason: str | None = None
        self._db: sqlite3.Connection | None = None
        self._lock: AbstractContextManager[object] = \
            threading.Lock() if threaded else nullcontext()
        self._schema, self._timeout, self._threaded = schema, timeout, threaded
        self._opened = False
        if not lazy:
            self._guard(lambda: None, None)

    @property
    def enabled(self) -> bool:
        self._guard(lambda: None, None)  # a lazy file that cannot be opened is disabled too
        return self.reason is None

    def _open_file(self) -> None:
        ensure_private_dir(self.path.parent)  # the state dir: 0700 whatever the umask
        self._db = connect(self.path, self._timeout, threaded=self._threaded)
        self._db.executescript(self._schema)  # a corrupt file fails here too; a check is slow

    def _guard(self, action: Callable[[], T], default: T) -> T:
        """Run a database action; on a failure disable the database and return `default`."""
        if self.reason is not None:
            return default
        with self._lock:
            try:
                if not self._opened:
                    self._opened = True
                    self._open_file()
                return action()
            except (sqlite3.Error, OSError) as exc:
                self._disable(f"{type(exc).__name__}: {exc}")
                return default

    def _disable(self, why: str) -> None:
        self.reason = f"{self.name} disabled ({self.path}): {why}"
        logging.getLogger(type(self).__module__).warning(  # the journal's or the history's
            "%s; carrying on without %s", self.reason, self.without)
        self._close_db()

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        assert self._db is not None
        return transaction(self._db)

    def _close_db(self) -> None:
        if self._db is not None:
            with suppress(sqlite3.Error):
                self._db.close()
            self._db = None

    def close(self) -> None:
        with self._lock:
            self._close_db()
