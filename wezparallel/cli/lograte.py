"""The daemon's log keeps its size when something goes wrong over and over.

asyncio logs each failed `accept()` (EMFILE under a flood of clients) with a traceback, once per
retry, and a process in a crash loop logs the same lines each time: an adversarial run grew the
log to 1.9 GB in ten minutes (issue 16.11). Identical lines beyond a burst within a window are
dropped and counted; the next one let through says how many were dropped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

BURST = 5  # identical lines let through per window
WINDOW = 60.0  # seconds
TRACKED = 1000  # distinct lines remembered; the oldest windows are forgotten beyond that


@dataclass
class _Window:
    start: float
    count: int = 1
    dropped: int = 0


class RepeatLimiter(logging.Filter):
    def __init__(self, burst: int = BURST, window: float = WINDOW,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.burst, self.window, self._clock = burst, window, clock
        self._seen: dict[tuple[str, int, str], _Window] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, record.getMessage())
        now = self._clock()
        seen = self._seen.get(key)
        if seen is not None and now - seen.start < self.window:
            seen.count += 1
            if seen.count <= self.burst:
                return True
            seen.dropped += 1
            return False
        self._seen.pop(key, None)
        self._seen[key] = _Window(now)
        if len(self._seen) > TRACKED:
            del self._seen[next(iter(self._seen))]
        if seen is not None and seen.dropped:
            record.msg, record.args = "%s (and %d more like it in %.0f s, not logged)", (
                record.getMessage(), seen.dropped, self.window)
        return True
