"""A backend that runs nothing: processes exist only as records.

For tests of the runtime that want exact control over when a process "exits", with a fake
clock and no waiting; the real backends are tested against real processes separately.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from wezparallel.backends.base import ExitCallback, Handle
from wezparallel.errors import SpawnError
from wezparallel.plan.lifecycle import ExitInfo
from wezparallel.spec.model import ProcessSpec


class MemoryBackend:
    name = "memory"

    def __init__(self, on_exit: ExitCallback) -> None:
        self._on_exit = on_exit
        self._pids = itertools.count(1000)
        self.running: dict[str, Handle] = {}
        self.spawned: list[tuple[str, tuple[str, ...]]] = []  # (id, argv) in order
        self.signals: list[tuple[str, int]] = []
        self.fail_next: dict[str, str] = {}  # id -> error message for its next spawn
        self.adoptable: set[int] = set()

    async def spawn(self, spec: ProcessSpec, argv: tuple[str, ...], log_path: Path) -> Handle:
        if spec.id in self.fail_next:
            raise SpawnError(self.fail_next.pop(spec.id))
        handle = Handle(spec.id, next(self._pids), self.name)
        self.running[spec.id] = handle
        self.spawned.append((spec.id, argv))
        return handle

    def signal(self, handle: Handle, signum: int) -> None:
        self.signals.append((handle.id, signum))

    async def stop(self, handle: Handle, signum: int, timeout: float) -> None:
        self.signals.append((handle.id, signum))
        self.exit(handle.id, ExitInfo(signal=signum))

    def adopt(self, handle: Handle) -> bool:
        if handle.pid in self.adoptable:
            self.running[handle.id] = handle
            return True
        return False

    def read_output(self, handle: Handle | None, log_path: Path, lines: int) -> list[str]:
        return []

    async def close(self, *, leave_running: bool = False) -> None:
        self.running.clear()

    def exit(self, pid: str, info: ExitInfo) -> None:
        """Make the process `pid` end now, as a real one would."""
        handle = self.running.pop(pid)
        self._on_exit(handle, info)
