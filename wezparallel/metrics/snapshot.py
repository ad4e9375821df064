"""The result of one sampler pass, and its JSON form.

Kept apart from the sampler so that the CLI, which receives a snapshot as JSON from the daemon,
can rebuild and render it without importing psutil.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class ProcessSample:
    """One managed process and everything below it, summed over the tree."""

    id: str
    pid: int  # the managed (root) process
    cpu_percent: float  # percent of one core, summed over the tree (can exceed 100)
    rss: int  # bytes, summed over the tree (shared pages are counted once per process)
    threads: int
    open_files: int  # file descriptors, counted at most once a minute; uninspectable: 0
    children: int  # descendants, not counting the root

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProcessSample:
        return cls(id=str(data["id"]), pid=int(data["pid"]),
                   cpu_percent=float(data["cpu_percent"]), rss=int(data["rss"]),
                   threads=int(data["threads"]), open_files=int(data["open_files"]),
                   children=int(data["children"]))


@dataclass(frozen=True)
class DiskUsage:
    """One filesystem holding the state dir or a workspace."""

    path: str  # the path asked about, not the mount point
    total: int  # bytes
    used: int  # bytes
    free: int  # bytes available to unprivileged users
    percent: float

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DiskUsage:
        return cls(path=str(data["path"]), total=int(data["total"]), used=int(data["used"]),
                   free=int(data["free"]), percent=float(data["percent"]))


@dataclass(frozen=True)
class SystemSample:
    cpu_percent: float  # percent of all cores together (0-100) since the previous pass
    cpu_count: int
    memory_total: int  # bytes
    memory_available: int  # bytes
    memory_percent: float
    load: tuple[float, float, float]  # 1, 5, 15 minute load averages
    disks: tuple[DiskUsage, ...]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SystemSample:
        load = [float(x) for x in data["load"]]
        return cls(cpu_percent=float(data["cpu_percent"]), cpu_count=int(data["cpu_count"]),
                   memory_total=int(data["memory_total"]),
                   memory_available=int(data["memory_available"]),
                   memory_percent=float(data["memory_percent"]),
                   load=(load[0], load[1], load[2]),
                   disks=tuple(DiskUsage.from_json(d) for d in data["disks"]))


@dataclass(frozen=True)
class Snapshot:
    """Everything one pass saw. `timestamp` is wall-clock seconds, handed in by the caller."""

    timestamp: float
    processes: tuple[ProcessSample, ...]
    system: SystemSample

    def process(self, process_id: str) -> ProcessSample | None:
        return next((p for p in self.processes if p.id == process_id), None)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Snapshot:
        return cls(timestamp=float(data["timestamp"]),
                   processes=tuple(ProcessSample.from_json(p) for p in data["processes"]),
                   system=SystemSample.from_json(data["system"]))
