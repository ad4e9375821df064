"""When to check log sizes, so that the rotation limit means something for fast writers too.

A fixed interval is wrong both ways: every 30 s let a 20 MB/s writer grow its 10 MB log to
600 MB, and every 0.2 s would wake an idle daemon five times a second for nothing. So while
logs grow, the next check comes when the fastest-growing log could reach its limit, halved for
safety, between `min_interval` and `max_interval`; a flood is held within a fraction of a
second once seen. Once a check finds that no log grew, the rotator stops polling and waits for
a `WriteAlarm` (inotify, one-shot) to ring on the next write into a log directory: an idle
daemon does not wake for its logs at all, and the first write of a flood is seen at once
rather than up to `max_interval` later. Growth is then measured from the ring, so one line
after a long silence does not read as a slow writer. Where there is no inotify the rotator
keeps polling every `max_interval`; with it, it still looks every `quiet_interval` in case a
write went unseen (a log on a file system inotify does not follow).

Sizes are read on the event loop (a stat per log, a fraction of a millisecond for 100) so a
check is one wake-up of one thread; only the copy of a log over the limit runs in a worker
thread, off the loop.

What this cannot do, not being in the data path: a writer faster than `max_bytes` per
`min_interval` overshoots by what it writes in one `min_interval` (about 4 MB at 20 MB/s).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from wezparallel.backends.logfile import DEFAULT_FILES, DEFAULT_MAX_BYTES, rotate
from wezparallel.runtime.writealarm import WriteAlarm

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RotationSettings:
    max_bytes: int = DEFAULT_MAX_BYTES  # a live log this large is rotated
    files: int = DEFAULT_FILES  # files kept per process, the live one included
    min_interval: float = 0.2  # seconds: the soonest next check, however fast a log grows
    max_interval: float = 2.0  # seconds: the latest next check while logs grow
    quiet_interval: float = 60.0  # seconds between checks of quiet logs, with the alarm armed


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


def grew(now: Mapping[str, LogSize], before: Mapping[str, LogSize]) -> bool:
    return any(size.written > before.get(path, LogSize(0, 0)).written
               for path, size in now.items())


class LogRotator:
    """Checks the logs of `paths()` on the schedule above and rotates those over the limit."""

    def __init__(self, paths: Callable[[], Iterable[Path]], settings: RotationSettings,
                 monotonic: Callable[[], float], *, root: Path | None = None,
                 alarm: Callable[[], WriteAlarm | None] = WriteAlarm.open) -> None:
        """`root`: where every log directory is made (watched, so that the logs of processes
        started later, in workspaces added later, ring the alarm too)."""
        self._paths = paths
        self._root = root
        self.settings = settings
        self._monotonic = monotonic
        self._open_alarm = alarm
        self._rotated: dict[str, int] = {}  # bytes moved to backups so far, per log
        self.checks = 0  # how many times sizes were read: what an idle daemon should not do

    async def run(self) -> None:
        alarm = self._open_alarm()
        before: dict[str, LogSize] = {}
        since = self._monotonic()  # growth seen at the next check happened after this
        delay, quiet = self.settings.min_interval, False
        try:
            while True:
                if quiet and alarm is not None:
                    if await alarm.wait(self.settings.quiet_interval):
                        since = self._monotonic()  # the first write: it grew from here
                else:
                    await asyncio.sleep(delay)
                paths = list(self._paths())
                if alarm is not None:  # before the check: a write after it must ring
                    alarm.arm(self._dirs(paths))
                sizes = await self.check(paths)
                now = self._monotonic()
                delay = next_check(sizes, before, now - since, self.settings)
                quiet = not grew(sizes, before)
                before, since = sizes, now
        finally:
            if alarm is not None:
                alarm.close()

    def _dirs(self, paths: Iterable[Path]) -> set[Path]:
        """The log directories, and those that hold them: a new workspace's directory appears
        there before its first log is written."""
        dirs = {path.parent for path in paths}
        return dirs | {d.parent for d in dirs} | ({self._root} if self._root else set())

    async def check(self, paths: Iterable[Path]) -> dict[str, LogSize]:
        """Measure every log and rotate those over the limit, then measure them again."""
        sizes = self.measure(paths)
        full = [Path(key) for key, size in sizes.items() if size.size >= self.settings.max_bytes]
        if full:
            await asyncio.to_thread(self.rotate, full)
            sizes.update(self.measure(full))
        return sizes

    def measure(self, paths: Iterable[Path]) -> dict[str, LogSize]:
        self.checks += 1
        sizes: dict[str, LogSize] = {}
        for path in paths:
            key = os.fspath(path)
            try:
                size = os.stat(key).st_size
            except FileNotFoundError:
                continue
            except OSError as exc:
                log.warning("%s: cannot read the log's size: %s", path, exc)
                continue
            sizes[key] = LogSize(size, self._rotated.get(key, 0) + size)
        return sizes

    def rotate(self, paths: Iterable[Path]) -> None:
        """Runs in a worker thread: a copy of 10 MB must not hold up the loop."""
        for path in paths:
            try:
                size = path.stat().st_size
                rotate(path, self.settings.files)
            except FileNotFoundError:
                continue
            except OSError as exc:
                log.warning("%s: log rotation failed: %s", path, exc)
                continue
            key = os.fspath(path)
            self._rotated[key] = self._rotated.get(key, 0) + size
            log.info("%s: rotated at %d bytes", path, size)
