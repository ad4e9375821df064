"""Panes: an 8-process workspace up in tmux panes (wezparallel only; supervisord has no panes).

Timed from spawning the daemon (`--backend tmux`, its tmux server on a socket in its state
dir) to the first status showing all 8 RUNNING; then the panes are counted in that tmux
server, so a figure is only kept when the panes really exist.
"""

from __future__ import annotations

from benchmarks import harness as h
from benchmarks.footprint import START_TIMEOUT
from benchmarks.results import Figure, Measured
from benchmarks.session import Tool, programs, running, wait_all_running
from benchmarks.wez_driver import WezparallelSession


def figures(b: h.Budget) -> list[Figure]:
    return [Figure("panes_up", f"panes: launch -> {b.panes} processes RUNNING in tmux panes "
                   f"(median of {b.pane_samples})", "ms", both=False)]


def pane_count(session: WezparallelSession) -> int:
    done = h.run_command(["tmux", "-S", str(session.tmux_socket()), "list-panes", "-a",
                          "-F", "#{pane_id}"])
    return len(done.stdout.split()) if done.returncode == 0 else 0


def up_once(tool: Tool, count: int) -> float:
    with running(tool, programs(count)) as session:
        elapsed = wait_all_running(session, count, START_TIMEOUT)
        assert isinstance(session, WezparallelSession)
        panes = pane_count(session)
        if panes < count:
            raise h.BenchError(f"{count} processes RUNNING but {panes} tmux panes")
    return elapsed


def measure(tool: Tool, b: h.Budget) -> Measured:
    return {"panes_up": h.median(up_once(tool, b.panes) for _ in range(b.pane_samples))}
