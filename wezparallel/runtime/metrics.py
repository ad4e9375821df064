"""Sampling on a timer, in a worker thread, so the reconcile loop never waits on /proc or
SQLite; the latest snapshot is kept for `status` and `top`, and every pass goes to history."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from wezparallel.clock import Clock
from wezparallel.metrics.history import History
from wezparallel.metrics.sampler import Sampler, Target
from wezparallel.metrics.settings import MetricsSettings
from wezparallel.metrics.snapshot import Snapshot
from wezparallel.runtime.supervisor import Supervisor

log = logging.getLogger(__name__)


class MetricsRunner:
    def __init__(self, supervisor: Supervisor, clock: Clock, state_dir: Path,
                 settings: MetricsSettings, disk_paths: tuple[Path, ...] = ()) -> None:
        self._sup = supervisor
        self._clock = clock
        self.settings = settings
        self._sampler = Sampler(clock)
        self.history = History(settings.database(state_dir), settings)
        self._disk_paths = (state_dir, *disk_paths)
        self.latest: Snapshot | None = None
        self._last_prune = 0.0

    def targets(self) -> dict[str, Target]:
        return {pid: (h.pid, h.create_time) for pid, h in self._sup.handles.items()}

    def sample_once(self) -> Snapshot:
        """One pass, history write and pruning included; runs in a worker thread."""
        now = self._clock.wall()
        snapshot = self._sampler.sample(self.targets(), now, self._disk_paths)
        self.history.record(snapshot)
        if now - self._last_prune >= self.settings.prune_every:
            self.history.prune(now)
            self._last_prune = now
        return snapshot

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            # First wait, then sample: a fresh daemon spends its first moments spawning.
            await asyncio.sleep(self.settings.interval)
            try:
                self.latest = await loop.run_in_executor(None, self.sample_once)
            except OSError as exc:  # /proc or the disk said no: skip this pass, keep going
                log.warning("metrics pass failed: %s", exc)

    def close(self) -> None:
        self.history.close()
