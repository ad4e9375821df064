"""What a workload needs from a running daemon, whichever tool it is.

Each driver (`sup_driver`, `wez_driver`) launches its daemon on a set of programs and answers
these questions through that tool's own API, so the workloads are written once and measure both
tools the same way.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from benchmarks import harness as h

SLEEP = "sleep 1000000"
RUNNING = "RUNNING"
MIN_POLL = 0.02  # seconds between status polls while a workspace comes up


@dataclass(frozen=True)
class Observed:
    """A process as its daemon reports it: state name in supervisord's words, and pid."""

    state: str
    pid: int | None

    @property
    def running(self) -> bool:
        return self.state == RUNNING and bool(self.pid)


class Session(Protocol):
    """One running daemon, started by a driver's `launch`; `close` stops it and its children."""

    tool: str
    daemon_pid: int
    launched_at: float  # harness.now() just before the daemon was spawned

    def states(self) -> dict[str, Observed] | None:
        """Every process by name, from one status call on a new connection; None if the daemon
        is not answering yet."""

    def state_of(self, name: str) -> Observed | None:
        """One process, for tight polling (may reuse a connection); None if not answering."""

    def look(self) -> None:
        """One refresh of a live view of the processes, as a `top` makes every 2 s
        (wezparallel: `metrics_snapshot`; supervisord: `getAllProcessInfo`)."""

    def status_command(self) -> list[str]:
        """argv of the `status` command a user types."""

    def save_programs(self, programs: Mapping[str, str]) -> None:
        """Rewrite the config file with these programs, as an editor saves it."""

    def apply_saved(self) -> None:
        """Whatever a user does after saving for the change to take effect."""

    def exited(self) -> str | None:
        """None while the daemon runs; else its exit status and the tail of its stderr."""

    def close(self) -> None: ...


Launcher = Callable[[Path, Mapping[str, str]], Session]


@dataclass(frozen=True)
class Tool:
    name: str
    launch: Launcher


@contextmanager
def running(tool: Tool, progs: Mapping[str, str]) -> Iterator[Session]:
    """A daemon on `progs` in a fresh short-named temp dir (unix socket paths are short);
    on exit the daemon, its children and the dir are gone."""
    workdir = Path(tempfile.mkdtemp(prefix="wpb-"))
    try:
        session = tool.launch(workdir, progs)
        try:
            yield session
        finally:
            session.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def programs(count: int, command: str = SLEEP) -> dict[str, str]:
    return {f"p{i:04d}": command for i in range(count)}


def all_running(session: Session, count: int) -> bool:
    states = session.states()
    return states is not None and len(states) == count and all(
        o.running for o in states.values())


def _check_alive(session: Session) -> None:
    failure = session.exited()
    if failure is not None:
        raise h.BenchError(f"{session.tool} exited: {failure}")


def wait_all_running(session: Session, count: int, timeout: float) -> float:
    """Milliseconds from the daemon's launch until a status call shows all `count` RUNNING.

    Status is asked every 20 ms, or less often when a call takes longer (the daemon spends at
    most a third of its time answering), and at once when /proc shows that the daemon has all
    its children. So polling barely loads a daemon that is busy starting 1000 processes, where
    one status call can take seconds. The figure is the time the confirming answer arrived: a
    daemon may accept the call while still busy starting, so the time it was sent would flatter
    it; one status call's cost (measured on its own by `control` and `scale`) is included.
    """
    last_call, last_took = -1.0, 0.0

    def up() -> bool:
        nonlocal last_call, last_took
        _check_alive(session)
        spawned = h.child_count(session.daemon_pid) >= count
        if not spawned and h.now() - last_call < max(MIN_POLL, 2 * last_took):
            return False
        last_call = h.now()
        done = all_running(session, count)
        last_took = h.now() - last_call
        return done

    h.wait_until(up, timeout, f"{count} {session.tool} processes to be RUNNING", interval=0.005)
    return h.ms_since(session.launched_at)


def wait_new_pid(session: Session, name: str, old_pid: int | None, timeout: float) -> None:
    def replaced() -> bool:
        seen = session.state_of(name)
        return seen is not None and seen.running and seen.pid != old_pid

    h.wait_until(replaced, timeout, f"{session.tool} {name} RUNNING with a new pid",
                 interval=0.001)


def current(session: Session, name: str) -> Observed:
    seen = session.state_of(name)
    if seen is None or not seen.running:
        raise h.BenchError(f"{session.tool} {name} is not RUNNING: {seen}")
    return seen
