"""Watch the conf dir and turn bursts of file events into one reload.

Any event that may change a workspace file counts: create, modify, delete, move, an editor's
atomic save (temp file renamed over the target) and the `..data` symlink swap of mounted
config (Kubernetes ConfigMaps and the like), where the `.yaml` names never see an event of
their own. Editor droppings (`.#x`, `x~`, `.x.swp`, vim's `4913` probe) are ignored. Since a
reload re-reads every file and plans only the difference, one debounced reload per burst is
both correct and cheap.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

log = logging.getLogger(__name__)

DEBOUNCE = 0.1  # seconds of quiet before a burst becomes one reload


def is_relevant(path: str) -> bool:
    name = os.path.basename(path)
    if name.startswith(".#") or name.endswith(("~", ".swp", ".swx", ".tmp")) or name == "4913":
        return False
    return name.endswith((".yaml", ".yml")) or name.startswith("..") or name.endswith(".env")


class _Handler(FileSystemEventHandler):
    def __init__(self, notify: Callable[[], None]) -> None:
        self._notify = notify

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        paths = [event.src_path, getattr(event, "dest_path", "")]
        if any(is_relevant(os.fsdecode(p)) for p in paths if p):
            self._notify()


class ConfWatcher:
    def __init__(self, conf_dir: Path, on_change: Callable[[], None],
                 debounce: float = DEBOUNCE) -> None:
        self._conf_dir = conf_dir
        self._on_change = on_change
        self._debounce = debounce
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._observer: Observer | None = None  # type: ignore[valid-type]

    def start(self) -> None:
        """Start watching; a conf dir that does not exist yet is watched from its parent."""
        self._loop = asyncio.get_running_loop()
        self._conf_dir.mkdir(parents=True, exist_ok=True)
        observer = Observer()
        observer.schedule(_Handler(self._from_thread), str(self._conf_dir), recursive=False)
        observer.daemon = True
        observer.start()
        self._observer = observer

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._observer = None

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
        except Exception:  # a reload bug must not kill the watcher
            log.exception("reload after a file change failed")
