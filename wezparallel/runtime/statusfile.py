"""A small status snapshot in the state dir, for readers that must not start a process.

WezTerm's status bar refreshes every second in every window; running `wezparctl status` for it
meant a Python start-up each time (about 70 ms of CPU). The daemon instead keeps the status
object in `status.json`, written atomically when something visible changes (an event: a state,
an activity, a health verdict, a reload, a notice), at most every `min_gap` seconds, and on a
heartbeat. The Lua module reads it with `io.open` and `wezterm.json_parse`: well under a
millisecond, no process. A daemon killed with SIGKILL cannot say so, so readers take a file
whose `daemon.written_at` is older than `daemon.stale_after` as "daemon down".

On a clean stop the file says `up: false` at once, so the bar turns to "down" without waiting.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wezparallel.clock import Clock

log = logging.getLogger(__name__)

FILE_NAME = "status.json"
MIN_GAP = 0.25  # seconds between two writes, however busy the daemon is
HEARTBEAT = 10.0  # seconds between writes when nothing changes
STALE_AFTER = 25.0  # seconds after which a reader should take the daemon for dead


def last_written(path: Path) -> float | None:
    """When a daemon last wrote `path`: read before ours overwrites it, the heartbeat of the
    daemon before us, within `HEARTBEAT` seconds of its end even when it was SIGKILLed."""
    try:
        stamp = json.loads(path.read_text(encoding="utf-8"))["daemon"]["written_at"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return float(stamp) if isinstance(stamp, (int, float)) else None


class StatusFile:
    def __init__(self, path: Path, build: Callable[[], dict[str, Any]], clock: Clock, *,
                 min_gap: float = MIN_GAP, heartbeat: float = HEARTBEAT) -> None:
        self.path = path
        self._build = build
        self._clock = clock
        self.min_gap = min_gap
        self.heartbeat = heartbeat
        self._last_write = float("-inf")  # monotonic
        self._pending: asyncio.TimerHandle | None = None
        self._closed = False
        self.writes = 0

    def changed(self, *_event: object) -> None:
        """Something visible changed (usable as an event bus listener): write soon, once."""
        if self._pending is not None or self._closed:
            return
        delay = max(0.0, self._last_write + self.min_gap - self._clock.monotonic())
        self._pending = asyncio.get_running_loop().call_later(delay, self._write_pending)

    def _write_pending(self) -> None:
        self._pending = None
        self.write()

    async def run(self) -> None:
        """Write now, then on every heartbeat, until cancelled."""
        while not self._closed:
            self.write()
            await asyncio.sleep(self.heartbeat)

    def write(self, *, up: bool = True) -> None:
        data = self._build() if up else {"processes": [], "config": {"errors": []},
                                         "notices": []}
        data["daemon"] = {"up": up, "pid": os.getpid(), "written_at": self._clock.wall(),
                          "heartbeat": self.heartbeat,
                          "stale_after": max(STALE_AFTER, 2.5 * self.heartbeat)}
        staging = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            staging.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
            os.chmod(staging, 0o600)
            os.replace(staging, self.path)
        except OSError as exc:
            log.warning("cannot write %s: %s", self.path, exc)
            return
        self._last_write = self._clock.monotonic()
        self.writes += 1

    def close(self) -> None:
        """The daemon stops: say so now rather than letting the file go stale. Nothing is
        written after this, so a late change cannot make a stopped daemon look up again."""
        self._closed = True
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        self.write(up=False)
