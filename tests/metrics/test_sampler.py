"""The sampler against real processes: memory, trees, CPU, pid identity, system figures."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.support import retry_until
from wezparallel.clock import FakeClock
from wezparallel.metrics.sampler import Sampler, disk_usage, num_fds, scan

MB = 1024 * 1024

# waits for a line on stdin, then allocates and touches ~50 MB, says so, and waits again
ALLOCATE = """
import sys
sys.stdin.readline()
block = b"x" * (50 * 1024 * 1024)
print("allocated", flush=True)
sys.stdin.readline()
"""

# three grandchildren, one of them one level deeper, then reports and waits
TREE = """
import subprocess, sys
kids = [subprocess.Popen(["sleep", "1000"]) for _ in range(2)]
kids.append(subprocess.Popen(["sh", "-c", "sleep 1000; true"]))
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
    # two sleeps, a shell, and the shell's own sleep (it cannot exec it: `; true` follows)
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
