"""When to check log sizes, so that the rotation limit means something for fast writers too.

A fixed interval is wrong both ways: every 30 s let a 20 MB/s writer grow its 10 MB log to
600 MB, and every 0.2 s would wake an idle daemon five times a second for nothing. So the next
check comes when the fastest-growing log could reach its limit, halved for safety, between
`min_interval` and `max_interval`: an idle daemon stats its logs every 2 s (100 stats, a
fraction of a millisecond), a flood is held within a fraction of a second once seen. The copy
itself runs in a worker thread, off the event loop.

What this cannot do, not being in the data path: a log that starts to flood is seen at the
next check, so it can overshoot by up to `max_interval` of its output once; after that a writer
faster than `max_bytes` per `min_interval` still overshoots by what it writes in one
`min_interval` (about 4 MB at 20 MB/s). inotify would see the first write, but a flood makes
one event per write, which would keep a thread of the daemon busy for as long as it lasts.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from wezparallel.backends.logfile import DEFAULT_FILES, DEFAULT_MAX_BYTES, rotate

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RotationSettings:
    max_bytes: int = DEFAULT_MAX_BYTES  # a live log this large is rotated
    files: int = DEFAULT_FILES  # files kept per process, the live one included
    min_interval: float = 0.2  # seconds: the soonest next check, however fast a log grows
    max_interval: float = 2.0  # seconds: the latest next check, for logs that do not grow


@dataclass(frozen=True)
class LogSize:
    size: int  # bytes in the live file now
    written: int  # bytes written since we first saw it, rotations included: only grows


def next_check(now: Mapping[str, LogSize], before: Mapping[str, LogSize], elapsed: float,
               s: RotationSettings) -> float:
    """Seconds until the next size check, from the sizes now and `elapsed` seconds ago. A log
    not seen before counts as grown from nothing: a new file may be a flood that just began
    (an old one met at start costs one early check, then its real pace is known)."""
    delay = s.max_interval
    for path, log_size in now.items():
        grown = log_size.written - before.get(path, LogSize(0, 0)).written
        if grown <= 0 or elapsed <= 0:
            continue
        rate = grown / elapsed
        delay = min(delay, max(0, s.max_bytes - log_size.size) / rate / 2)
    return max(s.min_interval, delay)


class LogRotator:
    """Checks the logs of `paths()` on the schedule above and rotates those over the limit."""

    def __init__(self, paths: Callable[[], Iterable[Path]], settings: RotationSettings,
                 monotonic: Callable[[], float]) -> None:
        self._paths = paths
        self.settings = settings
        self._monotonic = monotonic
        self._rotated: dict[str, int] = {}  # bytes moved to backups so far, per log

    async def run(self) -> None:
        before: dict[str, LogSize] = {}
        last = self._monotonic()
        delay = self.settings.min_interval
        while True:
            await asyncio.sleep(delay)
            sizes = await asyncio.to_thread(self.check_once)
            now = self._monotonic()
            delay = next_check(sizes, before, now - last, self.settings)
            before, last = sizes, now

    def check_once(self) -> dict[str, LogSize]:
        """Rotate what is over the limit and measure every log. Runs in a worker thread: a
        copy of 10 MB must not hold up the loop."""
        sizes: dict[str, LogSize] = {}
        for path in self._paths():
            key = os.fspath(path)
            try:
                size = path.stat().st_size
                if size >= self.settings.max_bytes:
                    rotate(path, self.settings.files)
                    self._rotated[key] = self._rotated.get(key, 0) + size
                    log.info("%s: rotated at %d bytes", path, size)
                    size = path.stat().st_size
            except FileNotFoundError:
                continue
            except OSError as exc:
                log.warning("%s: log rotation failed: %s", path, exc)
                continue
            sizes[key] = LogSize(size, self._rotated.get(key, 0) + size)
        return sizes
