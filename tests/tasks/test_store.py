"""The SQLite store: ids never reused, tasks back after reopening, versioned migrations."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from wezparallel.errors import StateError
from wezparallel.tasks.model import Task, TaskStatus
from wezparallel.tasks.store import MIGRATIONS, TaskStore


def test_tasks_survive_a_reopen_with_their_ids(tmp_path: Path) -> None:
    store = TaskStore(tmp_path / "tasks.sqlite")
    ids = [store.next_id() for _ in range(3)]
    assert ids == ["t1", "t2", "t3"]
    for i, tid in enumerate(ids):
        store.save(Task(tid, f"task {i}", priority=i, after=tuple(ids[:i])))
    store.save(Task("t2", "task 1", status=TaskStatus.REVIEW, busy_seconds=3.5))
    store.close()
    again = TaskStore(tmp_path / "tasks.sqlite")
    tasks = again.load()
    assert list(tasks) == ["t1", "t2", "t3"]
    assert tasks["t2"].status == TaskStatus.REVIEW and tasks["t2"].busy_seconds == 3.5
    assert tasks["t3"].after == ("t1", "t2")
    assert again.next_id() == "t4"  # the counter is stored, not derived from the rows
    assert again.version == len(MIGRATIONS)


def test_a_file_from_a_newer_version_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "tasks.sqlite"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    db.close()
    with pytest.raises(StateError, match=f"schema version {len(MIGRATIONS) + 1}"):
        TaskStore(path)
    db = sqlite3.connect(path)
    assert db.execute("SELECT name FROM sqlite_master").fetchall() == []


def test_a_change_that_cannot_be_stored_is_an_error_not_a_silent_loss(tmp_path: Path) -> None:
    store = TaskStore(tmp_path / "tasks.sqlite")
    store.close()
    with pytest.raises(StateError, match="cannot save t1"):
        store.save(Task("t1", "x"))
