"""One pass over every managed process tree, plus the system figures.

Cheap by construction. Every process's `/proc/<pid>/stat` is read once per pass; that one line
holds the parent link, the start time, CPU ticks, thread count and resident pages, so every
tree is cut out of one map and no per-process psutil call is needed (psutil.Process with
oneshot() read three files per process and cost 34 ms per pass over 100 processes; this reads
one plus the fd directory). CPU ticks are remembered between passes, keyed by (pid, start
ticks), so CPU % is measured over the time since the previous pass without sleeping, and a reused
pid never inherits another process's counters. CPU that a child used between two passes is lost
if it exits before the second one. psutil is used for the system-wide figures only.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import psutil

from wezparallel.clock import Clock, SystemClock
from wezparallel.metrics.snapshot import DiskUsage, ProcessSample, Snapshot, SystemSample

log = logging.getLogger(__name__)

PROC = "/proc"
CREATE_TIME_TOLERANCE = 1.0  # seconds: a create_time given by a backend vs the one in /proc
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")

Key = tuple[int, int]  # (pid, start ticks since boot): unique across pid reuse
Target = tuple[int, float | None]  # (pid, create_time in epoch seconds, or None if unknown)


@dataclass(frozen=True)
class ProcStat:
    """The fields of one /proc/<pid>/stat line that a pass needs."""

    ppid: int
    start: int  # clock ticks after boot
    cpu: int  # user + system clock ticks, this process only
    threads: int
    rss: int  # bytes


def scan(proc: str = PROC) -> dict[int, ProcStat]:
    """pid -> its stat fields for every live process, one file read each; zombies left out."""
    found: dict[int, ProcStat] = {}
    for name in os.listdir(proc):
        if not name.isdigit():
            continue
        try:
            line = _read(f"{proc}/{name}/stat")
        except OSError:
            continue  # gone since listdir
        # fields after the command name, which is in parentheses and may contain ") " itself;
        # fields[i] is field i + 3 of proc(5)
        fields = line[line.rfind(b")") + 2:].split()
        if fields[0] == b"Z":
            continue
        found[int(name)] = ProcStat(
            ppid=int(fields[1]), start=int(fields[19]), cpu=int(fields[11]) + int(fields[12]),
            threads=int(fields[17]), rss=int(fields[21]) * PAGE_SIZE)
    return found


def _read(path: str) -> bytes:
    """One small /proc file; os.open/os.read cost half of what a buffered file object does."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.read(fd, 4096)
    finally:
        os.close(fd)


def _children_map(stats: Mapping[int, ProcStat]) -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for pid, st in stats.items():
        children.setdefault(st.ppid, []).append(pid)
    return children


def _tree(root: int, children: Mapping[int, list[int]]) -> list[int]:
    out, todo = [root], [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            out.append(child)
            todo.append(child)
    return out


def num_fds(pid: int, proc: str = PROC) -> int:
    """Open file descriptors; 0 for a process that is gone or that we may not inspect."""
    try:
        return len(os.listdir(f"{proc}/{pid}/fd"))
    except OSError:
        return 0


class Sampler:
    """Holds CPU counters between passes; call `sample` once per interval.

    The clock's monotonic time measures the interval CPU % is computed over; the snapshot's
    timestamp is whatever the caller passes, so history and tests decide what time it is.
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._boot_time = psutil.boot_time()
        self._last_cpu: dict[Key, int] = {}
        self._last_time: float | None = None
        self._last_system: tuple[float, float] | None = None  # (total, idle) seconds

    def sample(self, targets: Mapping[str, Target], now: float,
               disk_paths: Iterable[Path] = ()) -> Snapshot:
        """Sample every target's process tree; a target whose pid is gone is left out."""
        stats = scan()
        children = _children_map(stats)
        mono = self._clock.monotonic()
        elapsed = mono - self._last_time if self._last_time is not None else 0.0
        cpu: dict[Key, int] = {}
        samples = []
        for process_id, (pid, create_time) in sorted(targets.items()):
            root = stats.get(pid)
            if root is None or not self._same_process(root, create_time):
                continue
            tree = [(p, stats[p]) for p in _tree(pid, children)]
            samples.append(self._tree_sample(process_id, pid, tree, elapsed))
            cpu.update(((p, st.start), st.cpu) for p, st in tree)
        self._last_cpu, self._last_time = cpu, mono
        return Snapshot(timestamp=now, processes=tuple(samples),
                        system=self._system(disk_paths))

    def _same_process(self, root: ProcStat, create_time: float | None) -> bool:
        if create_time is None:
            return True
        started = self._boot_time + root.start / CLOCK_TICKS
        return abs(started - create_time) <= CREATE_TIME_TOLERANCE

    def _tree_sample(self, process_id: str, pid: int, tree: list[tuple[int, ProcStat]],
                     elapsed: float) -> ProcessSample:
        ticks = 0
        for p, st in tree:
            before = self._last_cpu.get((p, st.start))
            if before is not None:  # new since the last pass: nothing to compare with yet
                ticks += max(0, st.cpu - before)
        percent = 100.0 * ticks / CLOCK_TICKS / elapsed if elapsed > 0 else 0.0
        return ProcessSample(
            id=process_id, pid=pid, cpu_percent=round(percent, 1),
            rss=sum(st.rss for _, st in tree), threads=sum(st.threads for _, st in tree),
            open_files=sum(num_fds(p) for p, _ in tree), children=len(tree) - 1)

    def _system(self, disk_paths: Iterable[Path]) -> SystemSample:
        mem = psutil.virtual_memory()
        return SystemSample(
            cpu_percent=self._system_cpu(), cpu_count=psutil.cpu_count() or 1,
            memory_total=mem.total, memory_available=mem.available,
            memory_percent=mem.percent, load=os.getloadavg(), disks=disk_usage(disk_paths))

    def _system_cpu(self) -> float:
        """Busy share of all cores since the previous pass; 0.0 on the first.

        Kept here rather than in psutil.cpu_percent(), whose "since last call" state is global
        to the interpreter and would be shared with any other caller.
        """
        times = psutil.cpu_times()
        # guest time is already counted in user and nice (as psutil itself reckons)
        total = sum(times) - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0)
        now = (total, times.idle + getattr(times, "iowait", 0.0))
        last, self._last_system = self._last_system, now
        if last is None:
            return 0.0
        busy, span = (now[0] - now[1]) - (last[0] - last[1]), now[0] - last[0]
        return round(max(0.0, min(100.0, 100.0 * busy / span)), 1) if span > 0 else 0.0


def disk_usage(paths: Iterable[Path]) -> tuple[DiskUsage, ...]:
    """Usage of each filesystem holding one of `paths`, each filesystem once."""
    seen: set[int] = set()
    out = []
    for path in paths:
        try:
            dev = os.stat(path).st_dev
            if dev in seen:
                continue
            usage = psutil.disk_usage(str(path))
        except OSError as exc:
            log.debug("no disk usage for %s: %s", path, exc)
            continue
        seen.add(dev)
        out.append(DiskUsage(path=str(path), total=usage.total, used=usage.used,
                             free=usage.free, percent=usage.percent))
    return tuple(out)
