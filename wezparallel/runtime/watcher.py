"""Watch the conf dir and turn bursts of file events into one reload.

Any event that may change a workspace file counts: create, modify, delete, move, an editor's
atomic save (temp file renamed over the target) and the `..data` symlink swap of mounted
config (Kubernetes ConfigMaps and the like), where the `.yaml` names never see an event of
their own. Editor droppings (`.#x`, `x~`, `.x.swp`, vim's `4913` probe) are ignored. Since a
reload re-reads every file and plans only the difference, one debounced reload per burst is
both correct and cheap.

Env files are part of a process's config too (issue 4: their content restarts the processes
that use them), and they usually live beside the code, not in the conf dir (`env_file: ../.env`).
After each reload the watcher follows the ones the workspace files name: each one's directory
is watched without recursion, and only events on those exact paths count.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import ObservedWatch

log = logging.getLogger(__name__)

DEBOUNCE = 0.1  # seconds of quiet before a burst becomes one reload


def is_relevant(path: str) -> bool:
    name = os.path.basename(path)
    if name.startswith(".#") or name.endswith(("~", ".swp", ".swx", ".tmp")) or name == "4913":
        return False
    return name.endswith((".yaml", ".yml")) or name.startswith("..") or name.endswith(".env")


def counts(path: str, *, in_conf_dir: bool, followed: frozenset[str]) -> bool:
    """Whether an event on `path` may change the config: in the conf dir, a workspace file (or
    the `..data` swap, or a followed env file); beside it, only a followed env file."""
    if os.path.abspath(path) in followed:
        return True
    return in_conf_dir and is_relevant(path)


class _Handler(FileSystemEventHandler):
    def __init__(self, relevant: Callable[[str], bool], notify: Callable[[], None]) -> None:
        self._relevant = relevant
        self._notify = notify

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        paths = [event.src_path, getattr(event, "dest_path", "")]
        if any(self._relevant(os.fsdecode(p)) for p in paths if p):
            self._notify()


class ConfWatcher:
    def __init__(self, conf_dir: Path, on_change: Callable[[], None],
                 debounce: float = DEBOUNCE,
                 env_files: Callable[[], Iterable[str]] = tuple) -> None:
        """`env_files` says which env files the config in force names (absolute paths); it is
        asked at start and after each reload."""
        self._conf_dir = conf_dir
        self._on_change = on_change
        self._debounce = debounce
        self._env_files = env_files
        self._followed: frozenset[str] = frozenset()  # read by the observer thread
        self._extra: dict[str, ObservedWatch] = {}  # directory -> its watch
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._observer: Observer | None = None  # type: ignore[valid-type]

    def start(self) -> None:
        """Start watching; a conf dir that does not exist yet is watched from its parent."""
        self._loop = asyncio.get_running_loop()
        self._conf_dir.mkdir(parents=True, exist_ok=True)
        observer = Observer()
        observer.schedule(_Handler(self._in_conf_dir, self._from_thread), str(self._conf_dir),
                          recursive=False)
        observer.daemon = True
        observer.start()
        self._observer = observer
        self._follow(self._env_files())

    @property
    def followed_dirs(self) -> frozenset[str]:
        """Directories watched for env files, beside the conf dir."""
        return frozenset(self._extra)

    def _in_conf_dir(self, path: str) -> bool:
        return counts(path, in_conf_dir=True, followed=self._followed)

    def _is_followed(self, path: str) -> bool:
        return counts(path, in_conf_dir=False, followed=self._followed)

    def _follow(self, files: Iterable[str]) -> None:
        """Watch exactly `files` beside the conf dir; a directory that does not exist (the
        file's problem is in `status`) is looked for again after the next reload."""
        observer = self._observer
        if observer is None:
            return
        self._followed = frozenset(os.path.abspath(f) for f in files)
        own = os.path.abspath(self._conf_dir)
        wanted = {d for d in map(os.path.dirname, self._followed) if d != own and os.path.isdir(d)}
        for directory in self._extra.keys() - wanted:
            observer.unschedule(self._extra.pop(directory))
        for directory in sorted(wanted - self._extra.keys()):
            try:
                self._extra[directory] = observer.schedule(
                    _Handler(self._is_followed, self._from_thread), directory, recursive=False)
            except OSError as exc:  # unreadable, or the inotify watch limit
                log.warning("cannot watch %s for env file changes: %s", directory, exc)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._observer = None
            self._extra.clear()

    def _from_thread(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._rearm)

    def _rearm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        assert self._loop is not None
        self._timer = self._loop.call_later(self._debounce, self._fire)

    def _fire(self) -> None:
        self._timer = None
        try:
            self._on_change()
            self._follow(self._env_files())
        except Exception:  # a reload bug must not kill the watcher
            log.exception("reload after a file change failed")
