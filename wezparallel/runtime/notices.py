"""Notices: what the daemon wants a person to see, not only its log.

A health probe whose `action` is `notify` ends up here (an agent idle for too long, a server
that stopped answering). The daemon keeps the latest few in memory and shows them in `status`,
so they reach whoever looks: `wezparctl status`, scripts reading `status --json`, and the
WezTerm module, which toasts the ones newer than any it has seen. They are keyed by wall-clock
time rather than a counter, so a restarted daemon neither replays old notices to the terminal
nor hides new ones behind a reset counter. They are not persisted: a notice is about now.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wezparallel.clock import Clock

log = logging.getLogger(__name__)

KEEP = 50  # enough for a day of incidents on a busy workspace; status shows them all


@dataclass(frozen=True)
class Notice:
    at: float  # wall-clock seconds
    process: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"at": self.at, "process": self.process, "message": self.message}


class Notices:
    def __init__(self, clock: Clock, keep: int = KEEP) -> None:
        self._clock = clock
        self._items: deque[Notice] = deque(maxlen=keep)
        self.watchers: list[Callable[[Notice], None]] = []  # the event bus, for one

    def add(self, process: str, message: str) -> Notice:
        notice = Notice(self._clock.wall(), process, message)
        self._items.append(notice)
        log.warning("notice: %s: %s", process, message)
        for watcher in self.watchers:
            watcher(notice)
        return notice

    def recent(self) -> tuple[Notice, ...]:
        """Oldest first."""
        return tuple(self._items)
