"""Per-process log files: opened for the child, rotated by size, read from the end, followed.

The child writes its stdout and stderr straight into the file through a descriptor opened with
O_APPEND; the daemon is not in the data path. That is what lets a child outlive the daemon (a
crash, an upgrade with `shutdown --leave-running`): a pipe to the daemon would break and kill
the child with SIGPIPE, or stall it once the pipe fills.

It also decides how rotation must work. The usual rename-and-reopen cannot be used: the daemon
cannot reopen a descriptor that lives in another process, so after a rename the child would
keep writing into the renamed file, the backup would grow without bound and the live file stay
empty. Rotation therefore copies the live file to `NAME.1` and truncates the live file in place
(logrotate's `copytruncate`). Because the child's descriptor has O_APPEND, its next write lands
at the new end, offset 0, instead of leaving a hole the size of the old file. The price, as with
copytruncate, is that bytes written between the copy and the truncation can be lost; the window
is one copy of at most `max_bytes`. When to check sizes is `runtime.logrotation`'s business.

Backups are `NAME.1` (newest) to `NAME.{files-1}`; `files` counts the live file too, so disk use
stays under `max_bytes * files` (default 10 MB x 5).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from wezparallel.paths import ensure_private_dir

DEFAULT_MAX_BYTES = 10 * 1024 * 1024  # bytes before the live file is rotated
DEFAULT_FILES = 5  # files kept per process, the live one included
_BLOCK = 64 * 1024


def open_for_child(path: Path) -> int:
    """A descriptor for the child's stdout/stderr: append-only, private (0600), close-on-exec
    for us (the child gets its own copy as fd 1 and 2). The directory is made only when the
    open says it is missing: a start is on the path of every restart."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
    try:
        return os.open(path, flags, 0o600)
    except FileNotFoundError:
        ensure_private_dir(path.parent)
    return os.open(path, flags, 0o600)


def create_log(path: Path) -> None:
    """Make sure the log exists, 0600 in a 0700 directory, before a program we do not control
    (tmux's `pipe-pane` shell) appends to it with whatever the umask allows."""
    os.close(open_for_child(path))


def backup_path(path: Path, n: int) -> Path:
    return path.with_name(f"{path.name}.{n}")


def rotate_if_needed(path: Path, max_bytes: int = DEFAULT_MAX_BYTES,
                     files: int = DEFAULT_FILES) -> bool:
    """Rotate `path` when it has reached `max_bytes`; True when it did. A missing file is
    nothing to rotate."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return False
    if size < max_bytes:
        return False
    rotate(path, files)
    return True


def rotate(path: Path, files: int = DEFAULT_FILES) -> None:
    """Shift the backups, copy the live file to `.1`, truncate the live file in place."""
    backups = max(files - 1, 0)
    if backups == 0:
        os.truncate(path, 0)
        return
    backup_path(path, backups).unlink(missing_ok=True)
    for n in range(backups - 1, 0, -1):
        with contextlib.suppress(FileNotFoundError):
            os.replace(backup_path(path, n), backup_path(path, n + 1))
    staging = path.with_name(f"{path.name}.rotating")
    shutil.copyfile(path, staging)  # sendfile: in the kernel, no Python-level copy
    os.chmod(staging, 0o600)
    os.replace(staging, backup_path(path, 1))
    os.truncate(path, 0)


def tail(path: Path, n: int, end: int | None = None) -> list[str]:
    """The last `n` lines of the log before offset `end` (default: its end), reading blocks
    from the end (a 10 MB log costs one block, not 10 MB). Just after a rotation the live file
    is short, so the rest comes from the newest backup.

    `end` is what makes `logs -f` lose nothing: the follower is opened first, and the backlog
    is the text before the follower's starting offset, so each line is in exactly one of them."""
    if n <= 0:
        return []
    lines = _tail_one(path, n, end)
    if len(lines) < n:
        lines = _tail_one(backup_path(path, 1), n - len(lines)) + lines
    return lines


def _tail_one(path: Path, n: int, end: int | None = None) -> list[str]:
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            pos = size if end is None else min(end, size)
            blocks: list[bytes] = []
            newlines = 0
            while pos > 0 and newlines <= n:
                step = min(_BLOCK, pos)
                pos -= step
                f.seek(pos)
                blocks.append(f.read(step))
                newlines += blocks[-1].count(b"\n")
    except OSError:
        return []
    data = b"".join(reversed(blocks))
    return data.decode(errors="replace").splitlines()[-n:]


class LogFollower:
    """The state of one followed log: an open file, the offset read so far, a partial line.

    `poll` returns what was written since the last call, across rotations: when the live file
    was rotated (a new `.1`, or the file shrank), the part we had not read yet is at the end of
    the oldest backup made since, and any later rotations are whole backups in between; they
    are read, oldest first, before the live file again from offset 0. A file replaced by
    another one (new inode) is reopened. Waking it up is the caller's business
    (`runtime.logstream`), so each step can be driven and tested on its own.
    """

    def __init__(self, path: Path, *, from_start: bool = False) -> None:
        self.path = path
        self.fd: int | None = None
        self.ino: int | None = None
        self.pos = 0
        self.partial = b""
        self.backup = _inode(backup_path(path, 1))
        self._open(at_end=not from_start)

    def _open(self, at_end: bool) -> None:
        self.close()
        try:
            self.fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return
        st = os.fstat(self.fd)
        self.ino, self.pos = st.st_ino, (st.st_size if at_end else 0)

    def poll(self) -> list[str]:
        """The complete lines written since the last call."""
        try:
            st = os.stat(self.path)
        except OSError:
            return []
        missed = b""
        backup = _inode(backup_path(self.path, 1))
        if self.fd is None or st.st_ino != self.ino:
            self._open(at_end=False)
        elif backup != self.backup or st.st_size < self.pos:
            missed = self._read_rotated()
            self.pos = 0
        self.backup = backup
        fresh = b""
        if self.fd is not None:
            fresh = os.pread(self.fd, max(st.st_size - self.pos, 0), self.pos)
            self.pos += len(fresh)
        return self._split(missed + fresh)

    def _read_rotated(self) -> bytes:
        """The backups made since the last poll, oldest first: each rotation shifted the ones
        before it, so they are `.1` up to the one before the `.1` we saw last time."""
        fresh: list[Path] = []
        n = 1
        while (ino := _inode(backup_path(self.path, n))) is not None and ino != self.backup:
            fresh.append(backup_path(self.path, n))
            n += 1
        if not fresh:
            return b""
        *newer, oldest = fresh
        return _read_from(oldest, self.pos) + b"".join(_read_from(p, 0) for p in reversed(newer))

    def _split(self, data: bytes) -> list[str]:
        """Whole lines only: a line still being written waits for its newline."""
        data = self.partial + data
        *complete, self.partial = data.split(b"\n")
        return [line.decode(errors="replace") for line in complete]

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except OSError:
        return None


def _read_from(path: Path, offset: int) -> bytes:
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read()
    except OSError:
        return b""
