"""Runtime state that must outlive the daemon: who runs where, and what the user wants.

Written atomically (temp file, fsync, rename, fsync of the directory) so a crash mid-write
leaves the previous file intact; a file cut short or corrupted anyway is reported and ignored,
never a reason not to start.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from wezparallel.paths import ensure_private_dir

log = logging.getLogger(__name__)

VERSION = 1


class StateFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, dict[str, Any]]:
        """Per process id, its saved record; empty when there is nothing usable."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            log.warning("state file %s unreadable (%s); starting without it", self.path, exc)
            return {}
        try:
            data = json.loads(raw)
            if not isinstance(data, dict) or data.get("version") != VERSION:
                raise ValueError("unknown format")
            processes = data["processes"]
            if not isinstance(processes, dict):
                raise ValueError("processes is not an object")
            return {str(k): v for k, v in processes.items() if isinstance(v, dict)}
        except (ValueError, KeyError) as exc:
            log.warning("state file %s is damaged (%s); starting without it", self.path, exc)
            return {}

    def save(self, processes: dict[str, dict[str, Any]]) -> None:
        ensure_private_dir(self.path.parent)
        payload = json.dumps({"version": VERSION, "processes": processes},
                             separators=(",", ":"), sort_keys=True).encode()
        write_atomically(self.path, payload)


def write_atomically(path: Path, payload: bytes) -> None:
    """Replace `path` with `payload`: the old content or the new, never a mix, also after a
    crash of the machine (fsync of the file, then of the directory that names it)."""
    ensure_private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=".state-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class Journal:
    """Records appended between two saves of the state file: each start, before and after.

    A start is journalled as it happens rather than saved with the whole state, which the loop
    does once per pass: a daemon killed in the middle of starting 100 processes used to leave
    every one it had started unknown (issue 16.2). One `write` of an O_APPEND descriptor per
    record, without fsync: the records must survive the daemon's death, which the page cache
    does; a crash of the machine ends the processes they name as well, so a record it loses
    names nothing alive. The state file, which also holds what the user wants, keeps its fsync.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, separators=(",", ":"), sort_keys=True).encode() + b"\n"
        if self._fd is None:
            ensure_private_dir(self.path.parent)
            self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC,
                               0o600)
            if not _ends_a_line(self._fd):  # a torn last line must not swallow our first
                line = b"\n" + line
        os.write(self._fd, line)

    def clear(self) -> None:
        """After a save of the state file, which holds everything journalled so far."""
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
        else:
            self.path.unlink(missing_ok=True)

    def read(self) -> list[dict[str, Any]]:
        """The records in order; a line cut short by a crash (the last) is skipped."""
        try:
            lines = self.path.read_bytes().splitlines()
        except OSError:
            return []
        records = []
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                log.warning("journal %s: skipping a damaged line", self.path)
                continue
            if isinstance(record, dict):
                records.append(record)
        return records

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _ends_a_line(fd: int) -> bool:
    size = os.fstat(fd).st_size
    return size == 0 or os.pread(fd, 1, size - 1) == b"\n"
