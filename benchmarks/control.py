"""Control round trips: one `status` of every process, in-process and as a command.

In-process: a new client connects and makes one status call for all processes (wezparallel:
`Client(socket).call("status")`; supervisord: XML-RPC `getAllProcessInfo` over its unix
socket), the way a dashboard or script does. As a command: `wezparctl status` against
`supervisorctl status`, interpreter start-up included, as a user runs it.
"""

from __future__ import annotations

from benchmarks import harness as h
from benchmarks.footprint import START_TIMEOUT
from benchmarks.results import Figure, Measured
from benchmarks.session import Session, Tool, programs, running, wait_all_running


def figures(b: h.Budget) -> list[Figure]:
    return [
        Figure("status_call", f"status of {b.processes}, in-process client "
               f"(median of {b.status_samples})", "ms"),
        Figure("status_command", f"status of {b.processes} as a command "
               f"(median of {b.command_samples})", "ms"),
    ]


def status_call_ms(session: Session, count: int) -> float:
    """One status call on a new connection, checked to list all `count` processes."""
    start = h.now()
    states = session.states()
    elapsed = h.ms_since(start)
    if states is None or len(states) != count:
        seen = "no answer" if states is None else f"{len(states)} processes"
        raise h.BenchError(f"{session.tool} status of {count} processes gave {seen}")
    return elapsed


def measure(tool: Tool, b: h.Budget) -> Measured:
    with running(tool, programs(b.processes)) as session:
        wait_all_running(session, b.processes, START_TIMEOUT)
        h.pause(b.settle_seconds)
        calls = [status_call_ms(session, b.processes) for _ in range(b.status_samples)]
        commands = [h.time_command_ms(session.status_command())
                    for _ in range(b.command_samples)]
    return {"status_call": h.median(calls), "status_command": h.median(commands)}
