"""Following logs: one stream of lines from one or many processes, woken by inotify.

Children write their logs directly (the daemon is not in the data path, see
`backends.logfile`), so following means noticing that a file grew. One watchdog observer,
started with the first follower and shared by all, watches each log directory someone follows
and wakes the streams whose files changed; a slow fallback poll covers a filesystem without
inotify and an event lost to a full inotify queue. A stream is woken, reads every file it
follows to its end, and sleeps again: a burst of writes costs one read, not one per write.

The backlog of each process comes before the live lines, and it ends exactly where its
follower starts (`tail(..., end=follower.pos)`), so no line is lost or repeated between them.
Log lines carry no timestamps of their own: backlog lines have `time` None, and live lines the
wall-clock time they were read, which orders lines of different processes to within one wake.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from wezparallel.backends.base import resolved
from wezparallel.backends.logfile import LogFollower, tail

FALLBACK_POLL = 2.0  # seconds a stream sleeps when no inotify event wakes it


@dataclass(frozen=True)
class LogLine:
    id: str
    time: float | None  # wall clock when read; None for backlog lines
    line: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "time": self.time, "line": self.line}


class LogWatch:
    """Wakes followers whose files change. Thread-safe where watchdog's thread meets the loop:
    the observer only looks up waiters under a lock and hands `set` to the loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}
        self._dirs: dict[str, tuple[Any, int]] = {}  # directory -> (watch, followers)
        self._observer: Any = None

    def waiter(self, paths: Sequence[Path]) -> tuple[asyncio.Event, Callable[[], None]]:
        """An event set whenever one of `paths` changes, and the function that stops it."""
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        entry = (loop, event)
        keys = [os.fspath(p) for p in paths]
        dirs = sorted({os.path.dirname(k) for k in keys})
        with self._lock:
            for key in keys:
                self._waiters.setdefault(key, set()).add(entry)
        for directory in dirs:
            self._watch_dir(directory)

        def cancel() -> None:
            with self._lock:
                for key in keys:
                    waiters = self._waiters.get(key)
                    if waiters is not None:
                        waiters.discard(entry)
                        if not waiters:
                            del self._waiters[key]
            for directory in dirs:
                self._unwatch_dir(directory)

        return event, cancel

    def _watch_dir(self, directory: str) -> None:
        if directory in self._dirs:
            watch, count = self._dirs[directory]
            self._dirs[directory] = (watch, count + 1)
            return
        os.makedirs(directory, mode=0o700, exist_ok=True)
        watch = self._started().schedule(_Handler(self._changed), directory, recursive=False)
        self._dirs[directory] = (watch, 1)

    def _unwatch_dir(self, directory: str) -> None:
        watch, count = self._dirs[directory]
        if count > 1:
            self._dirs[directory] = (watch, count - 1)
            return
        del self._dirs[directory]
        with contextlib.suppress(KeyError, OSError):
            self._observer.unschedule(watch)

    def _started(self) -> Any:
        if self._observer is None:
            self._observer = Observer()
            self._observer.daemon = True
            self._observer.start()
        return self._observer

    def _changed(self, path: str) -> None:
        """From watchdog's thread."""
        with self._lock:
            waiters = list(self._waiters.get(path, ()))
        for loop, event in waiters:
            with contextlib.suppress(RuntimeError):  # a loop closed meanwhile
                loop.call_soon_threadsafe(event.set)

    def close(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(5)
            self._observer = None
        self._dirs.clear()


class _Handler(FileSystemEventHandler):
    """Every event names the path it concerns (and a move its destination too), which is all
    a follower needs to know."""

    def __init__(self, changed: Callable[[str], None]) -> None:
        super().__init__()
        self._changed = changed

    def dispatch(self, event: FileSystemEvent) -> None:
        self._changed(os.fsdecode(event.src_path))
        dest = getattr(event, "dest_path", "")
        if dest:
            self._changed(os.fsdecode(dest))


async def stream_lines(sources: Sequence[tuple[str, Path]], backlog: int, watch: LogWatch,
                       wall: Callable[[], float],
                       recent: Callable[[str, Path, int, int],
                                        list[str] | Awaitable[list[str]]] | None = None,
                       fallback: float = FALLBACK_POLL) -> AsyncIterator[LogLine]:
    """The last `backlog` lines of each source, then every new line, until the consumer
    stops. `recent(id, path, n, end)` may give the backlog from elsewhere (a pane's screen);
    by default it is the file's text before the follower's start."""
    followers = [(pid, LogFollower(path)) for pid, path in sources]
    event, cancel = watch.waiter([path for _, path in sources])
    try:
        for pid, follower in _by_last_write(followers):
            end = follower.pos
            lines = (await resolved(recent(pid, follower.path, backlog, end))
                     if recent is not None else tail(follower.path, backlog, end=end))
            for line in lines:
                yield LogLine(pid, None, line)
        while True:
            event.clear()
            for pid, follower in followers:
                for line in follower.poll():
                    yield LogLine(pid, wall(), line)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), fallback)
    finally:
        cancel()
        for _, follower in followers:
            follower.close()


def _by_last_write(followers: list[tuple[str, LogFollower]]) -> list[tuple[str, LogFollower]]:
    """Backlogs oldest writer first, so the most recent output is nearest the live lines."""
    def mtime(item: tuple[str, LogFollower]) -> float:
        try:
            return item[1].path.stat().st_mtime
        except OSError:
            return 0.0

    return sorted(followers, key=mtime)
