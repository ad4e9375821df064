"""The sampler against real processes: memory, trees, CPU, pid identity, system figures."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.support import retry_until
from wezparallel.clock import FakeClock
from wezparallel.metrics import sampler as sampler_mod
from wezparallel.metrics.sampler import (
    Sampler,
    child_pids,
    disk_usage,
    has_children_files,
    num_fds,
    prefer_walk,
    read_stat,
    scan,
)

MB = 1024 * 1024

# waits for a line on stdin, then allocates and touches ~50 MB, says so, and waits again
ALLOCATE = """
import sys
sys.stdin.readline()
block = b"x" * (50 * 1024 * 1024)
print("allocated", flush=True)
sys.stdin.readline()
"""

# three children and a grandchild, all Python, each reporting "up" only once it is running its
# own code: "ready" then means nobody in the tree is still between fork and exec or loading
# libraries, moments when a process briefly holds extra file descriptors
TREE = """
import subprocess, sys
LEAF = "import signal; print('up', flush=True); signal.pause()"
MIDDLE = (
    "import signal, subprocess, sys; "
    f"leaf = subprocess.Popen([sys.executable, '-c', {LEAF!r}], stdout=subprocess.PIPE); "
    "leaf.stdout.readline(); print('up', flush=True); signal.pause()"
)
kids = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
        for code in (LEAF, LEAF, MIDDLE)]
for kid in kids:
    kid.stdout.readline()
print("ready", flush=True)
sys.stdin.readline()
"""

BUSY = "while True: pass"


class Children:
    """Real child processes, each in its own session, killed with their trees afterwards."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[str]] = []

    def start(self, code: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True, start_new_session=True)
        self.procs.append(proc)
        return proc

    def cleanup(self) -> None:
        for proc in self.procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    stream.close()


@pytest.fixture
def children() -> Iterator[Children]:
    made = Children()
    yield made
    made.cleanup()


def target(proc: subprocess.Popen[str]) -> tuple[int, float]:
    return proc.pid, psutil.Process(proc.pid).create_time()


def test_allocation_shows_as_rss_growth(children: Children) -> None:
    proc = children.start(ALLOCATE)
    assert proc.stdin is not None and proc.stdout is not None
    sampler = Sampler()
    before = sampler.sample({"ws:mem": target(proc)}, now=100.0).process("ws:mem")
    proc.stdin.write("go\n")
    proc.stdin.flush()
    assert proc.stdout.readline().strip() == "allocated"
    after = sampler.sample({"ws:mem": target(proc)}, now=105.0).process("ws:mem")
    assert before is not None and after is not None
    assert after.rss - before.rss >= 45 * MB, (before.rss, after.rss)
    assert after.pid == proc.pid and after.children == 0 and after.threads >= 1
    assert after.open_files >= 3  # stdin, stdout, stderr at least


def test_whole_tree_is_counted(children: Children) -> None:
    proc = children.start(TREE)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    # two leaves, a middle process and the middle's own leaf
    tree = retry_until(lambda: _descendants(proc.pid, 4), timeout=20, what="4 descendants")
    snap = Sampler().sample({"ws:tree": target(proc)}, now=1.0)
    sample = snap.process("ws:tree")
    assert sample is not None
    assert sample.children == 4
    expected_rss = sum(p.memory_info().rss for p in [psutil.Process(proc.pid), *tree])
    assert abs(sample.rss - expected_rss) < 8 * MB
    assert sample.threads >= len(tree) + 1


def _descendants(pid: int, count: int) -> list[psutil.Process] | None:
    found = psutil.Process(pid).children(recursive=True)
    return found if len(found) == count else None


def test_busy_process_shows_cpu_without_sleeping_inside_the_sampler(
        children: Children) -> None:
    proc = children.start(BUSY)
    sampler = Sampler()
    targets = {"ws:busy": target(proc)}
    first = sampler.sample(targets, now=0.0).process("ws:busy")
    assert first is not None and first.cpu_percent == 0.0  # nothing to compare with yet

    def busy_enough() -> float | None:
        sample = sampler.sample(targets, now=1.0).process("ws:busy")
        assert sample is not None
        return sample.cpu_percent if sample.cpu_percent > 20.0 else None

    # two cores shared with other test runs: a spinning process still gets well over 20 %
    assert retry_until(busy_enough, timeout=20, interval=0.5, what="cpu of a busy loop") <= 120


def test_cpu_is_measured_over_the_injected_monotonic_clock(children: Children) -> None:
    proc = children.start(BUSY)
    clock = FakeClock()
    sampler = Sampler(clock)
    targets = {"ws:busy": target(proc)}
    sampler.sample(targets, now=0.0)
    start = psutil.Process(proc.pid).cpu_times()
    retry_until(lambda: sum(psutil.Process(proc.pid).cpu_times()[:2]) - sum(start[:2]) >= 0.3,
                timeout=20, what="the busy loop to use 0.3 s of CPU")
    clock.advance(100.0)  # the sampler must divide by this, not by real time
    sample = sampler.sample(targets, now=100.0).process("ws:busy")
    used = sum(psutil.Process(proc.pid).cpu_times()[:2]) - sum(start[:2])
    assert sample is not None
    assert 0.2 <= sample.cpu_percent <= used + 0.2, (sample.cpu_percent, used)


def test_timestamp_is_the_callers(children: Children) -> None:
    proc = children.start(BUSY)
    snap = Sampler().sample({"ws:a": target(proc)}, now=1_700_000_123.5)
    assert snap.timestamp == 1_700_000_123.5


def test_gone_or_reused_pids_are_left_out(children: Children) -> None:
    live = children.start(BUSY)
    dead = children.start(BUSY)
    dead_target = target(dead)
    os.killpg(dead.pid, signal.SIGKILL)
    dead.wait(timeout=30)
    pid, created = target(live)
    snap = Sampler().sample({"ws:live": (pid, created), "ws:dead": dead_target,
                             "ws:reused": (pid, created - 60.0), "ws:unknown": (pid, None)},
                            now=1.0)
    assert sorted(p.id for p in snap.processes) == ["ws:live", "ws:unknown"]


def test_counters_are_dropped_with_their_processes(children: Children) -> None:
    a, b = children.start(BUSY), children.start(BUSY)
    sampler = Sampler()
    sampler.sample({"ws:a": target(a), "ws:b": target(b)}, now=0.0)
    assert {pid for pid, _ in sampler._last_cpu} == {a.pid, b.pid}
    os.killpg(b.pid, signal.SIGKILL)
    b.wait(timeout=30)
    sampler.sample({"ws:a": target(a), "ws:b": (b.pid, None)}, now=5.0)
    assert {pid for pid, _ in sampler._last_cpu} == {a.pid}


def test_scan_survives_a_command_name_with_parentheses(children: Children) -> None:
    proc = children.start(
        "import sys\nopen('/proc/self/comm', 'w').write('x) 1 2 (y')\n"
        "print('ready', flush=True)\nsys.stdin.readline()\n")
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    assert Path(f"/proc/{proc.pid}/comm").read_text().strip() == "x) 1 2 (y"
    found = scan()[proc.pid]
    assert found.ppid == os.getpid()
    assert found.threads == psutil.Process(proc.pid).num_threads()


def test_system_figures_and_disks(tmp_path: Path) -> None:
    snap = Sampler().sample({}, now=1.0, disk_paths=[tmp_path, tmp_path / "..",
                                                     tmp_path / "missing"])
    system = snap.system
    assert snap.processes == ()
    assert system.cpu_count == os.cpu_count()
    assert 0 < system.memory_available <= system.memory_total
    assert len(system.load) == 3
    assert [d.path for d in system.disks] == [str(tmp_path)]  # same filesystem counted once
    assert system.disks[0].total > system.disks[0].free > 0


def test_disk_usage_lists_each_filesystem_once() -> None:
    # /proc is its own filesystem, so two entries here
    paths = [Path("/"), Path("/proc"), Path("/proc/self")]
    assert [d.path for d in disk_usage(paths)] == ["/", "/proc"]


def test_num_fds_of_a_gone_process_is_zero(children: Children) -> None:
    proc = children.start(BUSY)
    assert num_fds(proc.pid) >= 3
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert num_fds(proc.pid) == 0


# --- walking only the managed trees ------------------------------------------------------------

# a child forked from a second thread, which stays alive: the child is listed in that thread's
# `children` file, not in the main thread's
THREADED = """
import subprocess, sys, threading
ready, hold = threading.Event(), threading.Event()
kids = []
def fork():
    kids.append(subprocess.Popen(["sleep", "1000"]))
    ready.set()
    hold.wait()
threading.Thread(target=fork, daemon=True).start()
ready.wait()
print(kids[0].pid, flush=True)
sys.stdin.readline()
"""

# a shell that runs the allocating child (it cannot exec it: `; true` follows); the child
# shares the shell's stdin and stdout
ALLOCATING_CHILD = f"{shlex.quote(sys.executable)} -c {shlex.quote(ALLOCATE)}; true"

# opens ten more files for every line on stdin
OPENER = """
import sys
files = []
print("ready", flush=True)
for line in sys.stdin:
    files += [open("/dev/null") for _ in range(10)]
    print("opened", flush=True)
"""


@pytest.mark.parametrize("walk", [True, False], ids=["children-files", "full-scan"])
def test_both_ways_count_the_whole_tree_exactly(children: Children, walk: bool) -> None:
    proc = children.start(TREE)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    tree = retry_until(lambda: _descendants(proc.pid, 4), timeout=20, what="4 descendants")
    sample = Sampler(walk=walk).sample({"ws:tree": target(proc)}, now=1.0).process("ws:tree")
    assert sample is not None
    everyone = [psutil.Process(proc.pid), *tree]
    assert sample.children == 4
    assert sample.threads == sum(p.num_threads() for p in everyone)
    assert sample.open_files == sum(p.num_fds() for p in everyone)


def test_a_pass_reads_only_the_managed_trees(children: Children,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    proc = children.start(TREE)
    other = children.start(BUSY)  # not a target: the pass must not look at it
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    tree = retry_until(lambda: _descendants(proc.pid, 4), timeout=20, what="4 descendants")
    read: list[str] = []
    real_read = sampler_mod._read

    def recording(path: str) -> bytes:
        read.append(path)
        return real_read(path)

    monkeypatch.setattr(sampler_mod, "_read", recording)
    Sampler().sample({"ws:tree": target(proc)}, now=1.0)
    stat_reads = {int(p.split("/")[2]) for p in read if p.endswith("/stat") and p != "/proc/stat"}
    assert stat_reads == {proc.pid, *(p.pid for p in tree)}
    assert other.pid not in stat_reads


def test_a_child_of_a_second_thread_is_found(children: Children) -> None:
    proc = children.start(THREADED)
    assert proc.stdout is not None
    kid = int(proc.stdout.readline())
    main_thread = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    assert str(kid) not in main_thread  # so reading the main thread's file alone would miss it
    st = read_stat(proc.pid)
    assert st is not None and st.threads >= 2
    assert kid in child_pids(proc.pid, st.threads)
    sample = Sampler().sample({"ws:t": target(proc)}, now=1.0).process("ws:t")
    assert sample is not None and sample.children == 1


def test_memory_a_child_allocates_shows(children: Children) -> None:
    proc = subprocess.Popen(["sh", "-c", ALLOCATING_CHILD],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    children.procs.append(proc)
    assert proc.stdin is not None and proc.stdout is not None
    retry_until(lambda: _descendants(proc.pid, 1), timeout=20, what="the python child")
    sampler = Sampler()
    before = sampler.sample({"ws:sh": target(proc)}, now=100.0).process("ws:sh")
    proc.stdin.write("go\n")
    proc.stdin.flush()
    assert proc.stdout.readline().strip() == "allocated"
    after = sampler.sample({"ws:sh": target(proc)}, now=105.0).process("ws:sh")
    assert before is not None and after is not None
    assert after.children == 1
    assert after.rss - before.rss >= 45 * MB, (before.rss, after.rss)


def test_open_files_are_counted_again_only_after_the_refresh_time(children: Children) -> None:
    proc = children.start(OPENER)
    assert proc.stdin is not None and proc.stdout is not None
    clock = FakeClock()
    sampler = Sampler(clock, fd_refresh=60.0)
    targets = {"ws:o": target(proc)}
    # before Python runs, the child still holds Popen's exec-error pipe: count a settled process
    assert proc.stdout.readline().strip() == "ready"

    def open_files() -> int:
        sample = sampler.sample(targets, now=clock.wall()).process("ws:o")
        assert sample is not None
        return sample.open_files

    first = open_files()
    assert first == num_fds(proc.pid)
    proc.stdin.write("more\n")
    proc.stdin.flush()
    assert proc.stdout.readline().strip() == "opened"
    assert num_fds(proc.pid) == first + 10
    clock.advance(59.0)
    assert open_files() == first  # the count of a minute ago, not a new listing
    clock.advance(1.0)
    assert open_files() == first + 10
    clock.advance(5.0)
    assert open_files() == first + 10


def test_a_process_new_to_the_tree_has_its_files_counted_at_once(children: Children) -> None:
    # the tree's root first runs alone, then grows the tree when told to
    proc = children.start('import sys; print("started", flush=True); sys.stdin.readline()' + TREE)
    assert proc.stdin is not None and proc.stdout is not None
    clock = FakeClock()
    sampler = Sampler(clock)
    targets = {"ws:tree": target(proc)}
    assert proc.stdout.readline().strip() == "started"
    alone = sampler.sample(targets, now=0.0).process("ws:tree")
    assert alone is not None and alone.children == 0
    assert alone.open_files == num_fds(proc.pid)
    proc.stdin.write("grow\n")
    proc.stdin.flush()
    assert proc.stdout.readline().strip() == "ready"
    tree = retry_until(lambda: _descendants(proc.pid, 4), timeout=20, what="4 descendants")
    assert num_fds(proc.pid) > alone.open_files  # the root now holds pipes to its children
    clock.advance(5.0)
    sample = sampler.sample(targets, now=5.0).process("ws:tree")
    assert sample is not None
    # the root keeps its count until the refresh; the newcomers are counted now, not left at 0
    assert sample.open_files == alone.open_files + sum(p.num_fds() for p in tree)


def test_fallback_is_chosen_without_children_files(tmp_path: Path) -> None:
    assert has_children_files()  # this machine's kernel has them: the walk is tested above
    assert not has_children_files(str(tmp_path))


def test_read_all_reads_past_one_buffer(tmp_path: Path) -> None:
    big = tmp_path / "children"
    big.write_bytes(b" ".join(str(n).encode() for n in range(100_000, 120_000)))
    assert len(sampler_mod._read_all(str(big)).split()) == 20_000


# --- system figures, read without psutil -------------------------------------------------------

def test_system_figures_agree_with_psutil(tmp_path: Path) -> None:
    sampler = Sampler()
    first = sampler.sample({}, now=0.0, disk_paths=[tmp_path]).system
    mem = psutil.virtual_memory()
    assert first.memory_total == mem.total
    assert abs(first.memory_available - mem.available) < 0.05 * mem.total
    assert abs(first.memory_percent - mem.percent) < 5.0
    assert first.cpu_percent == 0.0  # nothing to compare with yet
    disk = psutil.disk_usage(str(tmp_path))
    (mine,) = first.disks
    assert (mine.total, mine.path) == (disk.total, str(tmp_path))
    assert abs(mine.free - disk.free) < 0.01 * disk.total
    assert abs(mine.percent - disk.percent) < 1.0
    assert abs(sampler._boot_time - psutil.boot_time()) <= 1.0


def test_system_cpu_shows_a_busy_core(children: Children) -> None:
    children.start(BUSY)
    sampler = Sampler()
    sampler.sample({}, now=0.0)
    start = psutil.cpu_times()

    def busy() -> float | None:
        cpu = sampler.sample({}, now=1.0).system.cpu_percent
        return cpu if cpu >= 20.0 else None

    # one spinning process on 2 cores is about 50 % of the machine
    retry_until(lambda: sum(psutil.cpu_times()) - sum(start) >= 0.5, timeout=20,
                what="half a second of CPU")
    assert retry_until(busy, timeout=20, interval=0.5, what="system cpu") <= 100.0


def test_the_cheaper_way_is_chosen() -> None:
    assert prefer_walk(tree_size=100, machine_size=1000)  # a busy desktop: walk the trees
    assert not prefer_walk(tree_size=1000, machine_size=1100)  # little else runs: scan
    assert sampler_mod.machine_size() >= len([n for n in os.listdir("/proc") if n.isdigit()])
