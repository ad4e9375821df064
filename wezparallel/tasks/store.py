"""The board on disk: SQLite in the state dir, one row per task, written at every change.

Each change is its own committed transaction (WAL, `synchronous=NORMAL`): the page cache has
it the moment `save` returns, so a daemon SIGKILLed a millisecond later comes back with the same
board. Task ids come from a counter that only grows (`t1`, `t2`...), never reused even after
the newest task is deleted.

The schema is versioned with `PRAGMA user_version`: each entry of MIGRATIONS takes the file
one version up, in a transaction, so an older file is brought forward on open and a newer one
(from a later wezparallel) is refused rather than damaged.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import AbstractContextManager
from pathlib import Path

from wezparallel.errors import StateError
from wezparallel.sqlitefile import connect, transaction
from wezparallel.tasks.model import Task

MIGRATIONS: tuple[str, ...] = (
    # 1: tasks as JSON documents, with the fields the board filters on as columns
    """
    CREATE TABLE tasks (
        num INTEGER PRIMARY KEY, status TEXT NOT NULL, workspace TEXT, agent TEXT,
        updated REAL NOT NULL, body TEXT NOT NULL);
    CREATE INDEX tasks_by_status ON tasks (status);
    CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
    INSERT INTO counters VALUES ('task', 0);
    """,
)


class TaskStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = connect(path, timeout=5.0)
        except sqlite3.Error as exc:
            raise StateError(f"task store {path}: {exc}") from exc
        try:
            self._migrate()
        except (sqlite3.Error, StateError) as exc:
            self._db.close()
            if isinstance(exc, StateError):
                raise
            raise StateError(f"task store {path}: {exc}") from exc

    @property
    def version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        current = self.version
        if current > len(MIGRATIONS):
            raise StateError(f"task store {self.path} has schema version {current}; this "
                             f"wezparallel knows up to {len(MIGRATIONS)} (a newer version "
                             "wrote it)")
        for version in range(current, len(MIGRATIONS)):
            with self._transaction():
                for statement in MIGRATIONS[version].split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {version + 1}")

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return transaction(self._db)

    def next_id(self) -> str:
        try:
            with self._transaction():
                self._db.execute("UPDATE counters SET value = value + 1 WHERE name = 'task'")
                (value,) = self._db.execute(
                    "SELECT value FROM counters WHERE name = 'task'").fetchone()
        except sqlite3.Error as exc:
            raise StateError(f"task store {self.path}: {exc}") from exc
        return f"t{value}"

    def save(self, task: Task) -> None:
        """Raises StateError when the change cannot be stored (a full disk, a closed store):
        a change that is not on disk must not look made."""
        body = json.dumps(task.to_json(), separators=(",", ":"))
        try:
            with self._transaction():
                self._db.execute(
                    "INSERT OR REPLACE INTO tasks (num, status, workspace, agent, updated, "
                    "body) VALUES (?, ?, ?, ?, ?, ?)",
                    (int(task.id[1:]), task.status.value, task.workspace, task.agent,
                     task.updated, body))
        except sqlite3.Error as exc:
            raise StateError(f"task store {self.path}: cannot save {task.id}: {exc}") from exc

    def load(self) -> dict[str, Task]:
        """Every task by id, in creation order."""
        rows = self._db.execute("SELECT body FROM tasks ORDER BY num")
        tasks = (Task.from_json(json.loads(body)) for (body,) in rows)
        return {t.id: t for t in tasks}

    def close(self) -> None:
        self._db.close()
