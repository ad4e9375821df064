"""One pass over every managed process tree, plus the system figures.

A pass costs what the managed trees cost, not what the machine runs: it starts at each managed
pid and follows `/proc/<pid>/task/<tid>/children` down, reading one `/proc/<pid>/stat` per
process in the trees. That one line holds the start time, CPU ticks, thread count and resident
pages, so no per-process psutil call is needed. (The previous pass read the stat of every
process on the machine to find the trees: 40 % of the daemon's idle CPU.) Where the managed
trees are most of the machine, reading every stat once is cheaper than two reads per process in
the trees, so each pass takes the cheaper way; a kernel built without CONFIG_PROC_CHILDREN has
no `children` files and always scans.

CPU ticks are remembered between passes, keyed by (pid, start ticks), so CPU % is measured over
the time since the previous pass without sleeping, and a reused pid never inherits another
process's counters. CPU that a child used between two passes is lost if it exits before the
second one.

Open files change slowly and listing `/proc/<pid>/fd` was the other big cost of a pass, so they
are counted every `fd_refresh` seconds (a minute by default); in between a process shows its last
count, and a process new to the trees is counted when first seen.

The system figures are read from /proc and statvfs directly, the way psutil computes them, so
the daemon does not import psutil at all.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import NamedTuple, Protocol

from wezparallel.backends.procinfo import boot_time
from wezparallel.clock import Clock, SystemClock
from wezparallel.metrics.snapshot import DiskUsage, ProcessSample, Snapshot, SystemSample

log = logging.getLogger(__name__)

PROC = "/proc"
CREATE_TIME_TOLERANCE = 1.0  # seconds: a create_time given by a backend vs the one in /proc
FD_REFRESH = 60.0  # seconds between counts of a process's open files
WALK_COST = 1.6  # what walking to one process costs, in reads of one process's stat
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")

Key = tuple[int, int]  # (pid, start ticks since boot): unique across pid reuse
Target = tuple[int, float | None]  # (pid, create_time in epoch seconds, or None if unknown)


class ProcStat(NamedTuple):
    """The fields of one /proc/<pid>/stat line that a pass needs.

    A named tuple, not a frozen dataclass: a pass makes one per process, and a tuple is made
    in half the time.
    """

    ppid: int
    start: int  # clock ticks after boot
    cpu: int  # user + system clock ticks, this process only
    threads: int
    rss: int  # bytes


def parse_stat(line: bytes) -> ProcStat | None:
    """The fields of one stat line; None for a zombie (it has nothing left to measure)."""
    # fields after the command name, which is in parentheses and may contain ") " itself;
    # fields[i] is field i + 3 of proc(5)
    fields = line[line.rfind(b")") + 2:].split()
    if fields[0] in (b"Z", b"X"):
        return None
    return ProcStat(ppid=int(fields[1]), start=int(fields[19]),
                    cpu=int(fields[11]) + int(fields[12]), threads=int(fields[17]),
                    rss=int(fields[21]) * PAGE_SIZE)


def read_stat(pid: int, proc: str = PROC) -> ProcStat | None:
    """One process's stat fields; None when it is gone or a zombie."""
    try:
        return parse_stat(_read(f"{proc}/{pid}/stat"))
    except OSError:
        return None


def scan(proc: str = PROC) -> dict[int, ProcStat]:
    """pid -> its stat fields for every live process, one file read each; zombies left out."""
    found: dict[int, ProcStat] = {}
    for name in os.listdir(proc):
        if name.isdigit() and (st := read_stat(int(name), proc)) is not None:
            found[int(name)] = st
    return found


def child_pids(pid: int, threads: int, proc: str = PROC) -> list[int]:
    """The children of `pid`, from the `children` file of each of its threads.

    A child belongs to the thread that forked it, so a multi-threaded parent needs every
    thread's file; a single-threaded one (most) costs one read and no directory listing.
    """
    tids = [str(pid)] if threads <= 1 else _listdir(f"{proc}/{pid}/task")
    out: list[int] = []
    for tid in tids:
        try:
            out.extend(int(c) for c in _read_all(f"{proc}/{pid}/task/{tid}/children").split())
        except OSError:
            continue  # the thread or the process ended since
    return out


def has_children_files(proc: str = PROC) -> bool:
    """Whether this kernel lists children per thread (CONFIG_PROC_CHILDREN)."""
    me = os.getpid()
    return os.path.exists(f"{proc}/{me}/task/{me}/children")


def num_fds(pid: int, proc: str = PROC) -> int:
    """Open file descriptors; 0 for a process that is gone or that we may not inspect."""
    try:
        return len(os.listdir(f"{proc}/{pid}/fd"))
    except OSError:
        return 0


def _read(path: str) -> bytes:
    """One small /proc file; os.open/os.read cost half of what a buffered file object does."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.read(fd, 4096)
    finally:
        os.close(fd)


def _read_all(path: str) -> bytes:
    """A /proc file that may be longer than one read (a parent of a thousand children)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        chunks = [os.read(fd, 4096)]
        while chunks[-1]:
            chunks.append(os.read(fd, 65536))
        return b"".join(chunks)
    finally:
        os.close(fd)


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


class _Procs(Protocol):
    """Where a pass learns a process's stat and children."""

    def stat(self, pid: int) -> ProcStat | None: ...

    def children(self, pid: int, st: ProcStat) -> Iterable[int]: ...


class _Walk:
    """Reads only the processes it is asked about: the managed trees."""

    def __init__(self, proc: str) -> None:
        self._proc = proc

    def stat(self, pid: int) -> ProcStat | None:
        return read_stat(pid, self._proc)

    def children(self, pid: int, st: ProcStat) -> Iterable[int]:
        return child_pids(pid, st.threads, self._proc)


class _Scan:
    """Every process on the machine, read up front: for kernels without `children` files,
    and for machines that run little besides the managed trees (see `prefer_walk`)."""

    def __init__(self, proc: str) -> None:
        self._stats = scan(proc)
        self._children: dict[int, list[int]] = {}
        for pid, st in self._stats.items():
            self._children.setdefault(st.ppid, []).append(pid)

    def stat(self, pid: int) -> ProcStat | None:
        return self._stats.get(pid)

    def children(self, pid: int, st: ProcStat) -> Iterable[int]:
        return self._children.get(pid, ())


def machine_size(proc: str = PROC) -> int:
    """About how many processes the machine runs, without listing them: procfs gives its root
    a link count of a small constant plus the number of processes (all pid namespaces)."""
    return os.stat(proc).st_nlink


def prefer_walk(tree_size: int, machine_size: int) -> bool:
    """Whether following `children` files is cheaper than reading every process's stat.

    A walked process costs two reads (stat and children), a scanned one a single read, so the
    scan wins on a machine that runs little besides the managed trees (measured: 41 us per
    walked process, 25 us per scanned one). Either way a pass costs at most about twice the
    managed trees: the scan is chosen only when the whole machine is smaller than that.
    """
    return WALK_COST * tree_size < machine_size


def _tree(root: int, root_stat: ProcStat, procs: _Procs) -> Iterator[tuple[int, ProcStat]]:
    """The root and its live descendants, each once (a reused pid cannot loop the walk)."""
    seen, todo = {root}, [(root, root_stat)]
    while todo:
        pid, st = todo.pop()
        yield pid, st
        for child in procs.children(pid, st):
            if child not in seen and (child_st := procs.stat(child)) is not None:
                seen.add(child)
                todo.append((child, child_st))


class Sampler:
    """Holds CPU counters and open-file counts between passes; call `sample` once per interval.

    The clock's monotonic time measures the interval CPU % is computed over and when open files
    are due to be counted again; the snapshot's timestamp is whatever the caller passes, so
    history and tests decide what time it is.
    """

    def __init__(self, clock: Clock | None = None, fd_refresh: float = FD_REFRESH,
                 walk: bool | None = None, proc: str = PROC) -> None:
        """`walk`: always follow `children` files (True), always scan every process (False),
        or choose each pass by what is cheaper (None); `fd_refresh`: seconds, 0 counts open
        files in every pass."""
        self._clock = clock or SystemClock()
        self._proc = proc
        if walk is None and not has_children_files(proc):
            walk = False  # a kernel without CONFIG_PROC_CHILDREN: nothing to walk
        self._walk = walk
        self._fd_refresh = fd_refresh
        self._boot_time = boot_time()
        self._cpu_count = os.cpu_count() or 1
        self._last_cpu: dict[Key, int] = {}
        self._last_time: float | None = None
        self._last_system: tuple[int, int] | None = None  # (total, idle) clock ticks
        self._fds: dict[Key, int] = {}
        self._fds_counted: float | None = None  # monotonic time of the last full count

    def sample(self, targets: Mapping[str, Target], now: float,
               disk_paths: Iterable[Path] = ()) -> Snapshot:
        """Sample every target's process tree; a target whose pid is gone is left out."""
        procs = self._procs(len(self._last_cpu) or len(targets))
        mono = self._clock.monotonic()
        elapsed = mono - self._last_time if self._last_time is not None else 0.0
        recount = self._fds_counted is None or mono - self._fds_counted >= self._fd_refresh
        cpu: dict[Key, int] = {}
        fds: dict[Key, int] = {}
        samples = []
        for process_id, (pid, create_time) in sorted(targets.items()):
            root = procs.stat(pid)
            if root is None or not self._same_process(root, create_time):
                continue
            tree = list(_tree(pid, root, procs))
            for p, st in tree:
                key = (p, st.start)
                cached = None if recount else self._fds.get(key)
                fds[key] = num_fds(p, self._proc) if cached is None else cached
            samples.append(self._tree_sample(process_id, pid, tree, elapsed, fds))
            cpu.update(((p, st.start), st.cpu) for p, st in tree)
        self._last_cpu, self._last_time, self._fds = cpu, mono, fds
        if recount:
            self._fds_counted = mono
        return Snapshot(timestamp=now, processes=tuple(samples),
                        system=self._system(disk_paths))

    def _procs(self, tree_size: int) -> _Procs:
        walk = self._walk
        if walk is None:
            walk = prefer_walk(tree_size, machine_size(self._proc))
        return _Walk(self._proc) if walk else _Scan(self._proc)

    def _same_process(self, root: ProcStat, create_time: float | None) -> bool:
        if create_time is None:
            return True
        started = self._boot_time + root.start / CLOCK_TICKS
        return abs(started - create_time) <= CREATE_TIME_TOLERANCE

    def _tree_sample(self, process_id: str, pid: int, tree: list[tuple[int, ProcStat]],
                     elapsed: float, fds: Mapping[Key, int]) -> ProcessSample:
        ticks = 0
        for p, st in tree:
            before = self._last_cpu.get((p, st.start))
            if before is not None:  # new since the last pass: nothing to compare with yet
                ticks += max(0, st.cpu - before)
        percent = 100.0 * ticks / CLOCK_TICKS / elapsed if elapsed > 0 else 0.0
        return ProcessSample(
            id=process_id, pid=pid, cpu_percent=round(percent, 1),
            rss=sum(st.rss for _, st in tree), threads=sum(st.threads for _, st in tree),
            open_files=sum(fds[(p, st.start)] for p, st in tree), children=len(tree) - 1)

    def _system(self, disk_paths: Iterable[Path]) -> SystemSample:
        total, available = memory(self._proc)
        return SystemSample(
            cpu_percent=self._system_cpu(), cpu_count=self._cpu_count,
            memory_total=total, memory_available=available,
            memory_percent=_percent(total - available, total), load=os.getloadavg(),
            disks=disk_usage(disk_paths))

    def _system_cpu(self) -> float:
        """Busy share of all cores since the previous pass; 0.0 on the first.

        Kept here rather than in psutil.cpu_percent(), whose "since last call" state is global
        to the interpreter and would be shared with any other caller.
        """
        now = cpu_ticks(self._proc)
        last, self._last_system = self._last_system, now
        if last is None:
            return 0.0
        busy, span = (now[0] - now[1]) - (last[0] - last[1]), now[0] - last[0]
        return round(max(0.0, min(100.0, 100.0 * busy / span)), 1) if span > 0 else 0.0


def cpu_ticks(proc: str = PROC) -> tuple[int, int]:
    """(total, idle) clock ticks of all cores since boot, from the `cpu` line of /proc/stat.

    Total leaves out guest and guest_nice, which the kernel already counts in user and nice;
    idle includes iowait (as psutil reckons both).
    """
    line = _read(f"{proc}/stat").split(b"\n", 1)[0]
    ticks = [int(v) for v in line.split()[1:]]
    return sum(ticks[:8]), ticks[3] + (ticks[4] if len(ticks) > 4 else 0)


def memory(proc: str = PROC) -> tuple[int, int]:
    """(total, available) bytes from /proc/meminfo, as psutil.virtual_memory() reports them."""
    values: dict[bytes, int] = {}
    for line in _read_all(f"{proc}/meminfo").splitlines():
        name, _, rest = line.partition(b":")
        if name in (b"MemTotal", b"MemAvailable", b"MemFree", b"Cached", b"Buffers"):
            values[name] = int(rest.split()[0]) * 1024
    total = values.get(b"MemTotal", 0)
    available = values.get(b"MemAvailable")
    if available is None:  # kernels before 3.14
        available = sum(values.get(k, 0) for k in (b"MemFree", b"Cached", b"Buffers"))
    return total, available


def _percent(part: float, whole: float) -> float:
    return round(100.0 * part / whole, 1) if whole > 0 else 0.0


def disk_usage(paths: Iterable[Path]) -> tuple[DiskUsage, ...]:
    """Usage of each filesystem holding one of `paths`, each filesystem once.

    Computed from statvfs as psutil.disk_usage() and `df` do: `free` is what unprivileged users
    may still use, and the percentage leaves out the blocks reserved for root.
    """
    seen: set[int] = set()
    out = []
    for path in paths:
        try:
            dev = os.stat(path).st_dev
            if dev in seen:
                continue
            st = os.statvfs(path)
        except OSError as exc:
            log.debug("no disk usage for %s: %s", path, exc)
            continue
        seen.add(dev)
        total = st.f_blocks * st.f_frsize
        used = total - st.f_bfree * st.f_frsize
        free = st.f_bavail * st.f_frsize
        out.append(DiskUsage(path=str(path), total=total, used=used, free=free,
                             percent=_percent(used, used + free)))
    return tuple(out)
