"""Sampling on a timer, in a worker thread, so the reconcile loop never waits on /proc or
SQLite; the latest snapshot is kept for `status` and `top`, and every pass goes to history.

The timer runs fast only while someone looks (`watched()`), otherwise at the idle interval;
a look after a long quiet spell gets a pass at once rather than numbers a minute old.

The sampler and the history are built by their first user: the first pass (an interval after
start, in the worker thread) or a `metrics_history` call before it. A daemon's start thus
neither imports them nor their snapshot model."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from wezparallel.clock import Clock
from wezparallel.metrics.settings import MetricsSettings
from wezparallel.runtime.supervisor import Supervisor

if TYPE_CHECKING:
    from wezparallel.metrics.history import History
    from wezparallel.metrics.sampler import Sampler, Target
    from wezparallel.metrics.snapshot import Snapshot

log = logging.getLogger(__name__)


class MetricsRunner:
    def __init__(self, supervisor: Supervisor, clock: Clock, state_dir: Path,
                 settings: MetricsSettings, disk_paths: tuple[Path, ...] = ()) -> None:
        self._sup = supervisor
        self._clock = clock
        self.settings = settings
        self._database = settings.database(state_dir)
        self._sampler: Sampler | None = None  # only the worker thread's passes use it
        self._history: History | None = None
        self._building = threading.Lock()  # the loop and the worker may both be first
        self._disk_paths = (state_dir, *disk_paths)
        self.latest: Snapshot | None = None
        self._last_prune = 0.0
        self._watched_until = float("-inf")  # monotonic
        self._looked = asyncio.Event()

    @property
    def history(self) -> History:
        with self._building:
            if self._history is None:
                from wezparallel.metrics.history import History

                self._history = History(self._database, self.settings)
            return self._history

    def targets(self) -> dict[str, Target]:
        return {pid: (h.pid, h.create_time) for pid, h in self._sup.handles.items()}

    def sample_once(self) -> Snapshot:
        """One pass, history write and pruning included; runs in a worker thread."""
        if self._sampler is None:
            from wezparallel.metrics.sampler import Sampler

            self._sampler = Sampler(self._clock)
        now = self._clock.wall()
        snapshot = self._sampler.sample(self.targets(), now, self._disk_paths)
        self.history.record(snapshot)
        if now - self._last_prune >= self.settings.prune_every:
            self.history.prune(now)
            self._last_prune = now
        return snapshot

    def watched(self) -> None:
        """Someone is looking at CPU and memory: sample at the fast interval for a while."""
        now = self._clock.monotonic()
        if now >= self._watched_until:
            self._looked.set()  # the timer may be in a long idle wait: shorten it
        self._watched_until = now + self.settings.watch_grace

    @property
    def fast(self) -> bool:
        return self._clock.monotonic() < self._watched_until

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        # The first pass comes one fast interval after start: a fresh daemon is spawning, and
        # the first `status` should already have numbers.
        idle_step = max(self.settings.idle_interval, self.settings.interval)
        last_pass = self._clock.monotonic() + self.settings.interval - idle_step
        while True:
            now = self._clock.monotonic()
            delay = self.settings.next_pass(last_pass, now, self._watched_until) - now
            if delay > 0:
                self._looked.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._looked.wait(), delay)
                continue
            last_pass = now
            try:
                self.latest = await loop.run_in_executor(None, self.sample_once)
            except OSError as exc:  # /proc or the disk said no: skip this pass, keep going
                log.warning("metrics pass failed: %s", exc)

    def close(self) -> None:
        if self._history is not None:
            self._history.close()
