"""Events (wezparallel only): the fan-out to subscribers must not slow crash recovery, and the
journal must be quick to read back. A burst SIGKILLs every process of the workspace at once and
times, per process, SIGKILL -> RUNNING with a new pid, first with no subscriber and then with 10
`wezparctl events -f` processes reading; idle CPU is measured again with those 10 attached. The
journal figures append 10,000 events in one batch, start a daemon on that journal and time
`wezparctl events --since 1h --json` printing them all.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks import harness as h
from benchmarks.footprint import START_TIMEOUT
from benchmarks.results import Figure, Measured
from benchmarks.session import Session, Tool, programs, running, wait_all_running
from benchmarks.wez_driver import BIN, WezparallelSession
from wezparallel.events.journal import FILE_NAME, Journal
from wezparallel.events.model import Event

SUBSCRIBERS = 10
JOURNAL_EVENTS = 10_000
QUIET = 0.5  # seconds between bursts
SUBSCRIBE_SETTLE = 2.0  # seconds for the subscribers to start and catch up


def figures(b: h.Budget) -> list[Figure]:
    n = b.processes
    return [
        Figure("burst_none", f"events: burst of {n} SIGKILLs -> RUNNING, median per process, "
               "no subscriber", "ms", both=False),
        Figure("burst_subscribed", f"events: burst of {n} SIGKILLs -> RUNNING, median per "
               f"process, {SUBSCRIBERS} subscribers", "ms", both=False),
        Figure("idle_cpu_subscribed", f"events: idle CPU over {b.idle_seconds:g} s, {n} "
               f"processes, {SUBSCRIBERS} idle subscribers", "%", both=False),
        Figure("journal_append", f"events: journal append of {JOURNAL_EVENTS:,} events "
               "(one batch)", "ms", both=False),
        Figure("journal_read", f"events: `events --since 1h --json` of {JOURNAL_EVENTS:,} "
               "events", "ms", both=False),
    ]


@contextmanager
def subscribers(socket: Path, count: int) -> Iterator[None]:
    """`count` `wezparctl events -f --json` processes reading every event, as users' terminals
    and scripts would (separate processes, so their reading does not slow our polling)."""
    procs = [subprocess.Popen([str(BIN / "wezparctl"), "--socket", str(socket), "events", "-f",
                               "--json", "--since", "0"], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for _ in range(count)]
    try:
        h.pause(SUBSCRIBE_SETTLE)
        if any(p.poll() is not None for p in procs):
            raise h.BenchError("a subscriber exited early")
        yield
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(10)


def burst(session: Session, samples: int) -> float:
    """Median over processes and bursts of SIGKILL -> seen RUNNING with a new pid."""
    times: list[float] = []
    for _ in range(samples):
        h.pause(QUIET)
        times += _one_burst(session)
    return h.median(times)


def _one_burst(session: Session) -> list[float]:
    before = session.states() or {}
    start = h.now()
    for seen in before.values():
        if seen.pid:
            os.kill(seen.pid, signal.SIGKILL)
    pending = {name: seen.pid for name, seen in before.items()}
    times: list[float] = []

    def recovered() -> bool:
        states = session.states() or {}
        for name, old in list(pending.items()):
            now = states.get(name)
            if now is not None and now.running and now.pid != old:
                times.append(h.ms_since(start))
                del pending[name]
        return not pending

    h.wait_until(recovered, START_TIMEOUT, "the burst to recover", interval=0.001)
    return times


def _socket(session: Session) -> Path:
    if not isinstance(session, WezparallelSession):
        raise h.BenchError("the events family needs a wezparallel session")
    return session.socket


def journal_figures(b: h.Budget) -> Measured:
    workdir = Path(tempfile.mkdtemp(prefix="wpb-"))
    try:
        journal = Journal(workdir / "state" / FILE_NAME)
        now = time.time()
        batch = [Event(i, now - 60 + i / 1000, "state", f"bench:p{i % 100:04d}",
                       {"from": "RUNNING", "to": "EXITED", "pid": 1000 + i, "exit_code": 1,
                        "exit_signal": None, "reason": "exit 1", "crashed": True})
                 for i in range(1, JOURNAL_EVENTS + 1)]
        start = h.now()
        journal.append(batch)
        appended = h.ms_since(start)
        journal.close()
        session = WezparallelSession(workdir, programs(1))
        try:
            wait_all_running(session, 1, START_TIMEOUT)
            start = h.now()
            out = h.run_command([str(BIN / "wezparctl"), "--socket", str(session.socket),
                                 "events", "--since", "1h", "--json"])
            read = h.ms_since(start)
            if out.returncode != 0 or out.stdout.count("\n") < JOURNAL_EVENTS:
                raise h.BenchError(f"events printed {out.stdout.count(chr(10))} lines: "
                                   f"{out.stderr[-200:]}")
        finally:
            session.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return {"journal_append": appended, "journal_read": read}


def measure(tool: Tool, b: h.Budget) -> Measured:
    samples = max(2, b.crash_samples // 4)
    out: Measured = {}
    with running(tool, programs(b.processes)) as session:
        wait_all_running(session, b.processes, START_TIMEOUT)
        out["burst_none"] = burst(session, samples)
        with subscribers(_socket(session), SUBSCRIBERS):
            out["burst_subscribed"] = burst(session, samples)
            h.pause(b.settle_seconds)
            out["idle_cpu_subscribed"] = h.idle_cpu_percent(session.daemon_pid, b.idle_seconds)
    return out | journal_figures(b)
