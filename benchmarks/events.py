"""Events (wezparallel only): the fan-out to subscribers must not slow crash recovery, and the
journal must be quick to read back. A burst SIGKILLs every process of the workspace at once and
times, per process, SIGKILL -> RUNNING with a new pid, first with no subscriber and then with 10
batched `subscribe` streams (as `wezparctl events -f` asks) read by one small process, so the
figure is the daemon's fan-out cost rather than ten readers' CPU on a small machine; idle CPU is
measured again with those 10 attached. The journal figures append 10,000 events in one batch,
start a daemon on that journal and time `wezparctl events --since 1h --json` printing them all.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
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
SUBSCRIBE_SETTLE = 1.0  # seconds for the subscribers to connect
REPO = Path(__file__).resolve().parent.parent


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
    """`count` subscribers reading every event (`benchmarks.subscribers`, one process)."""
    proc = subprocess.Popen([sys.executable, "-m", "benchmarks.subscribers", str(socket),
                             str(count)], stdin=subprocess.DEVNULL, cwd=REPO)
    try:
        h.pause(SUBSCRIBE_SETTLE)
        if proc.poll() is not None:
            raise h.BenchError("the subscribers exited early")
        yield
    finally:
        proc.terminate()
        proc.wait(10)


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
    """Bursts with and without subscribers alternate, so a change in the machine's load
    during the run weighs on both figures alike."""
    rounds = max(2, b.crash_samples // 4)
    without: list[float] = []
    with_subscribers: list[float] = []
    out: Measured = {}
    with running(tool, programs(b.processes)) as session:
        wait_all_running(session, b.processes, START_TIMEOUT)
        for i in range(rounds):
            without += _one_round(session)
            with subscribers(_socket(session), SUBSCRIBERS):
                with_subscribers += _one_round(session)
                if i == rounds - 1:
                    h.pause(b.settle_seconds)
                    out["idle_cpu_subscribed"] = h.idle_cpu_percent(session.daemon_pid,
                                                                     b.idle_seconds)
    out["burst_none"] = h.median(without)
    out["burst_subscribed"] = h.median(with_subscribers)
    return out | journal_figures(b)


def _one_round(session: Session) -> list[float]:
    h.pause(QUIET)
    return _one_burst(session)
