"""Fixed snapshots for history and rendering tests."""

from __future__ import annotations

from wezparallel.metrics.snapshot import DiskUsage, ProcessSample, Snapshot, SystemSample

GB = 1024**3
MB = 1024**2

SYSTEM = SystemSample(cpu_percent=37.5, cpu_count=2, memory_total=8 * GB,
                      memory_available=5 * GB, memory_percent=37.5, load=(0.52, 0.4, 0.31),
                      disks=(DiskUsage("/var/state", 50 * GB, 20 * GB, 30 * GB, 40.0),))


def sample(process_id: str, cpu: float, rss: int, pid: int = 100, threads: int = 1,
           open_files: int = 3, children: int = 0) -> ProcessSample:
    return ProcessSample(id=process_id, pid=pid, cpu_percent=cpu, rss=rss, threads=threads,
                         open_files=open_files, children=children)


def snapshot(t: float, *processes: ProcessSample, system: SystemSample = SYSTEM) -> Snapshot:
    return Snapshot(timestamp=t, processes=tuple(processes), system=system)
