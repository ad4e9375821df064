"""Time as an injected dependency.

Restart, backoff and probe timing are decided by pure code that is handed `now`; the runtime
reads it from a `Clock`. Tests hand a `FakeClock` and move it by hand instead of sleeping.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards; used for every deadline."""

    def wall(self) -> float:
        """Seconds since the epoch; used only for what humans read (since, loaded_at)."""


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: float = 1000.0, wall_offset: float = 1_700_000_000.0) -> None:
        self.now = start
        self._wall_offset = wall_offset

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return self.now + self._wall_offset

    def advance(self, seconds: float) -> None:
        self.now += seconds
