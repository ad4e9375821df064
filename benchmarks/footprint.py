"""What an idle daemon costs and how fast it comes up: cold start, RSS, idle CPU.

Cold start is timed from spawning the daemon to the answer of the first status call that shows
every process RUNNING, through the tool's API on a new connection (polled every 20 ms, less
often while calls are slow, at once when /proc shows all the children); the figure is the
median of `cold_start_samples` starts of a fresh daemon on a fresh state dir (7 in a full run:
one start was one sample of a noisy machine, and moved the ratio by 0.05 from run to run).
RSS is the daemon's own resident memory after a quiet settle time; idle CPU is its CPU time
(all threads, ns precision) over a window in which nobody calls it, begun once nobody has
called it for wezparallel's watch grace (30 s: the metrics sampler stays at its fast pace that
long after a `status`, so earlier the window would time the last look, not "nobody looking";
both tools wait the same), and again over a window in which a live view refreshes every 2 s
(wezparallel's `top`, which makes its sampler run at the fast interval; supervisord's
`getAllProcessInfo`). wezparallel runs as a user runs it: watcher on, metrics sampler on at its
default settings, installed like supervisord by a regular `pip install` into a venv of its
own, which compiles the bytecode (`wez_driver`).
"""

from __future__ import annotations

import statistics
import threading

from benchmarks import harness as h
from benchmarks.results import Figure, Measured
from benchmarks.session import Session, Tool, programs, running, wait_all_running

START_TIMEOUT = 120.0  # seconds for any workspace to come up on a loaded 2-core machine


def figures(b: h.Budget) -> list[Figure]:
    return [
        Figure("cold_start", f"cold start: launch -> {b.processes} RUNNING"
               + (f" (median of {b.cold_start_samples})" if b.cold_start_samples > 1 else ""),
               "ms"),
        Figure("rss_small", f"daemon RSS idle, {b.small} processes", "MB"),
        Figure("rss", f"daemon RSS idle, {b.processes} processes", "MB"),
        Figure("idle_cpu", f"idle CPU over {b.idle_seconds:g} s, {b.processes} processes",
               "%"),
        Figure("idle_cpu_watched", f"idle CPU over {b.idle_seconds:g} s, {b.processes} "
               "processes, a live view refreshing every 2 s", "%"),
    ]


def measure(tool: Tool, b: h.Budget) -> Measured:
    out: Measured = {}
    with running(tool, programs(b.small)) as session:
        wait_all_running(session, b.small, START_TIMEOUT)
        h.pause(b.settle_seconds)
        out["rss_small"] = h.rss_mb(session.daemon_pid)
    starts = []
    with running(tool, programs(b.processes)) as session:
        starts.append(wait_all_running(session, b.processes, START_TIMEOUT))
        h.pause(b.settle_seconds)
        out["rss"] = h.rss_mb(session.daemon_pid)
        h.pause(b.quiet_seconds)  # nobody has looked for a while: the sampler's idle pace
        out["idle_cpu"] = h.idle_cpu_percent(session.daemon_pid, b.idle_seconds)
        out["idle_cpu_watched"] = _watched_cpu(session, b.idle_seconds)
    for _ in range(b.cold_start_samples - 1):  # one start is one sample of a noisy machine
        with running(tool, programs(b.processes)) as session:
            starts.append(wait_all_running(session, b.processes, START_TIMEOUT))
    out["cold_start"] = statistics.median(starts)
    return out


def _watched_cpu(session: Session, seconds: float) -> float:
    """Idle CPU while another thread refreshes a live view every 2 s (its own CPU is not the
    daemon's, so it does not count)."""
    stop = threading.Event()

    def view() -> None:
        while not stop.is_set():
            session.look()
            stop.wait(2.0)

    viewer = threading.Thread(target=view, daemon=True)
    session.look()  # the view opens: from now on the daemon knows someone is looking
    h.pause(1.0)
    viewer.start()
    try:
        return h.idle_cpu_percent(session.daemon_pid, seconds)
    finally:
        stop.set()
        viewer.join(10)


def idle_cpu(tool: Tool, b: h.Budget) -> float:
    """Idle CPU of a daemon on the usual workspace, once it is up and settled."""
    with running(tool, programs(b.processes)) as session:
        wait_all_running(session, b.processes, START_TIMEOUT)
        h.pause(b.settle_seconds)
        return h.idle_cpu_percent(session.daemon_pid, b.idle_seconds)
