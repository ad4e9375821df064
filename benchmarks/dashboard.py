"""Dashboard (wezparallel only): what the web dashboard costs and how fast a crash reaches it.
Daemon RSS on the usual workspace with `--no-dashboard` and with the dashboard on (aiohttp
loaded, the server listening). Idle CPU with the dashboard on: with no page (after 30 s without
a `status` call, so the metrics sampler is at its idle pace); with 10 pages holding only their
event streams (the pages' own cost); and with 10 pages doing what an untouched page does (its
event stream, and `metrics_snapshot` every 5 s, which keeps the sampler at its fast pace, as any
`status` or `top` does). The pages are WebSocket clients in one small process. A crash's way to
the pages: one child SIGKILLed at a time, timed from the kill to the moment the last of the 10
pages holds its `state` event (median over the kills).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks import harness as h
from benchmarks.footprint import START_TIMEOUT
from benchmarks.results import Figure, Measured
from benchmarks.session import Session, Tool, programs, running, wait_all_running
from benchmarks.wez_driver import BIN, WezparallelSession, tool

PAGES = 10
SETTLE = 2.0  # seconds for the pages to connect and read their snapshots
REPO = Path(__file__).resolve().parent.parent
ON = ("--dashboard", "127.0.0.1:0")


def figures(b: h.Budget) -> list[Figure]:
    n = b.processes
    return [
        Figure("dash_rss_off", f"dashboard: daemon RSS idle, {n} processes, --no-dashboard",
               "MB", both=False),
        Figure("dash_rss_on", f"dashboard: daemon RSS idle, {n} processes, dashboard on",
               "MB", both=False),
        Figure("dash_idle_none", f"dashboard: idle CPU over {b.idle_seconds:g} s, {n} "
               "processes, dashboard on, no page", "%", both=False),
        Figure("dash_idle_streams", f"dashboard: idle CPU over {b.idle_seconds:g} s, {n} "
               f"processes, {PAGES} pages, event streams only", "%", both=False),
        Figure("dash_idle_pages", f"dashboard: idle CPU over {b.idle_seconds:g} s, {n} "
               f"processes, {PAGES} pages", "%", both=False),
        Figure("dash_crash", f"dashboard: SIGKILL -> state event at all {PAGES} pages, median",
               "ms", both=False),
    ]


@contextmanager
def pages(session: Session, count: int, poll: bool = True) -> Iterator[queue.Queue[str]]:
    """The pages' lines (`PAGE ID TO MONOTONIC`), read by a thread as they come."""
    if not isinstance(session, WezparallelSession):
        raise h.BenchError("the dashboard family needs a wezparallel session")
    out = h.run_command([str(BIN / "wezparctl"), "--socket", str(session.socket),
                         "dashboard", "--json"])
    if out.returncode != 0:
        raise h.BenchError(f"wezparctl dashboard: {out.stderr.strip()}")
    url = json.loads(out.stdout)["url"]
    proc = subprocess.Popen([sys.executable, "-m", "benchmarks.pages", url, str(count),
                             *([] if poll else ["--no-metrics"])],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True,
                            cwd=REPO)
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    reader = threading.Thread(target=_read_into, args=(proc, lines), daemon=True)
    reader.start()
    try:
        h.pause(SETTLE)
        if proc.poll() is not None:
            raise h.BenchError("the pages exited early")
        yield lines
    finally:
        proc.terminate()
        proc.wait(10)


def _read_into(proc: subprocess.Popen[str], lines: queue.Queue[str]) -> None:
    for line in proc.stdout or ():
        lines.put(line)


def _crash_to_pages(session: Session, lines: queue.Queue[str], name: str) -> float:
    """Kill one child; ms until every page printed a state event leaving RUNNING for it."""
    seen = session.states() or {}
    victim = seen[name].pid
    if victim is None:
        raise h.BenchError(f"{name} has no pid")
    start = h.now()
    os.kill(victim, signal.SIGKILL)
    arrived: dict[str, float] = {}
    deadline = start + 30
    while len(arrived) < PAGES:
        if h.now() > deadline:
            raise h.BenchError(f"only {len(arrived)} pages saw {name} crash")
        try:
            page, pid, to, when = lines.get(timeout=1.0).split()
        except queue.Empty:
            continue
        if pid.endswith(f":{name}") and to != "RUNNING" and page not in arrived:
            arrived[page] = float(when)
    return (max(arrived.values()) - start) * 1000


def measure(_tool: Tool, b: h.Budget) -> Measured:
    out: Measured = {}
    with running(tool(), programs(b.processes)) as session:  # --no-dashboard
        wait_all_running(session, b.processes, START_TIMEOUT)
        h.pause(b.settle_seconds)
        out["dash_rss_off"] = h.rss_mb(session.daemon_pid)
    with running(tool(extra=ON), programs(b.processes)) as session:
        wait_all_running(session, b.processes, START_TIMEOUT)
        h.pause(b.settle_seconds)
        out["dash_rss_on"] = h.rss_mb(session.daemon_pid)
        h.pause(b.quiet_seconds)  # nobody looked for a while: the idle pace
        out["dash_idle_none"] = h.idle_cpu_percent(session.daemon_pid, b.idle_seconds)
        with pages(session, PAGES, poll=False):
            out["dash_idle_streams"] = h.idle_cpu_percent(session.daemon_pid, b.idle_seconds)
        with pages(session, PAGES) as lines:
            out["dash_idle_pages"] = h.idle_cpu_percent(session.daemon_pid, b.idle_seconds)
            names = sorted(session.states() or {})
            times = []
            for name in names[:b.crash_samples]:
                times.append(_crash_to_pages(session, lines, name))
                wait_all_running(session, b.processes, START_TIMEOUT)
        out["dash_crash"] = h.median(times)
    return out
