"""supervisord's process states, the transitions allowed between them, and the pure functions
that move a process's status when something happens to it.

    STOPPED ──start──▶ STARTING ──up start_secs──▶ RUNNING ──exit──▶ EXITED ──policy──▶ STARTING
                          │ exit too soon                │ │ exit within        (after a run
                          ▼                              │ │ backoff.reset_after  that lasted)
                       BACKOFF ◀─────────────────────────┘ │
                          │ retry due ──▶ STARTING         │ stop
                          │ max_restarts short runs        ▼
                          ▼   in a row                   STOPPING ──exit──▶ STOPPED
                        FATAL  (until a start, restart or config change)

A short run is a failed start (an exit before `start_secs`) or a run that ended within
`backoff.reset_after` of its start; both count in `fails`, so a program that dies two seconds
in, every time, backs off and ends FATAL like one that never starts (issue 11.1).

Each function takes the status and `now` and returns a new status; the runtime applies them
when the matching event arrives, so the rules are tested with scripted histories, no sleeping.
"""

from __future__ import annotations

import enum
import signal
from dataclasses import dataclass, replace

from wezparallel.spec.model import ProcessSpec, RestartPolicy
from wezparallel.spec.units import format_duration


class State(enum.StrEnum):
    STOPPED = "STOPPED"
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    BACKOFF = "BACKOFF"
    STOPPING = "STOPPING"
    EXITED = "EXITED"
    FATAL = "FATAL"


S = State
TRANSITIONS: dict[State, frozenset[State]] = {
    S.STOPPED: frozenset({S.STARTING, S.FATAL}),
    S.STARTING: frozenset({S.RUNNING, S.BACKOFF, S.STOPPING, S.FATAL, S.EXITED, S.STOPPED}),
    S.RUNNING: frozenset({S.STOPPING, S.EXITED, S.STOPPED, S.BACKOFF, S.FATAL}),
    S.BACKOFF: frozenset({S.STARTING, S.FATAL, S.STOPPED}),
    S.STOPPING: frozenset({S.STOPPED}),
    S.EXITED: frozenset({S.STARTING, S.STOPPED, S.FATAL}),
    S.FATAL: frozenset({S.STARTING, S.STOPPED}),
}
"""Allowed moves, and no others: every one is made by a function below. STARTING/RUNNING ->
STOPPED covers a child that exits while the user has already withdrawn it (or asked for a
restart); STOPPED/EXITED/BACKOFF -> FATAL covers a spawn that fails permanently. A crash after
RUNNING is EXITED (restarted at once) when the run lasted `backoff.reset_after`, else BACKOFF,
or FATAL when it was the last short run allowed."""

UP_STATES = frozenset({S.STARTING, S.RUNNING})
"""States in which a process of ours is alive and supervised."""


class IllegalTransition(ValueError):
    """A bug: code tried a move the table forbids."""


def check(old: State, new: State) -> State:
    if old != new and new not in TRANSITIONS[old]:
        raise IllegalTransition(f"{old} -> {new}")
    return new


@dataclass(frozen=True)
class ExitInfo:
    """How a process ended. `known=False` when it was adopted and its status is unknowable."""

    code: int | None = None
    signal: int | None = None
    known: bool = True

    @property
    def failed(self) -> bool:
        """on-failure counts a non-zero exit, a kill by signal, or an unknown end as failure:
        restarting something that meant to stop is cheaper than leaving a crash down."""
        return not self.known or self.signal is not None or self.code != 0

    def describe(self) -> str:
        if not self.known or (self.code is None and self.signal is None):
            return "exit status unknown"
        if self.signal is not None:
            try:
                return f"killed by {signal.Signals(self.signal).name}"
            except ValueError:
                return f"killed by signal {self.signal}"
        return f"exit {self.code}"


@dataclass(frozen=True)
class ProcessStatus:
    """The observed side of one process: what runs, and what the user wants of it."""

    id: str
    state: State = S.STOPPED
    wanted: bool = True  # the user's intent; a user stop sets False until a user start
    spec: ProcessSpec | None = None  # the spec the current (or last) instance started with
    pid: int | None = None
    started_at: float | None = None  # monotonic, of the current instance
    since: float = 0.0  # monotonic, when `state` was entered
    fails: int = 0  # short runs in a row (failed starts, and runs under backoff.reset_after)
    restarts: int = 0  # automatic restarts since the user (or the daemon) last started it
    retry_at: float | None = None  # monotonic; when an EXITED/BACKOFF process starts again
    restart_requested: bool = False
    last_exit: ExitInfo | None = None
    error: str | None = None
    backend: str | None = None
    pane: str | None = None
    health: str = "unknown"  # unknown | healthy | unhealthy

    def to(self, state: State, now: float, **changes: object) -> ProcessStatus:
        """Move to `state` (checked against the table) with other fields changed."""
        check(self.state, state)
        since = self.since if state == self.state else now
        return replace(self, state=state, since=since, **changes)  # type: ignore[arg-type]


def initial(spec: ProcessSpec, now: float) -> ProcessStatus:
    """A process the daemon has not started yet; `autostart: false` means not wanted."""
    return ProcessStatus(id=spec.id, wanted=spec.autostart, spec=spec, since=now)


def on_spawned(st: ProcessStatus, spec: ProcessSpec, pid: int, now: float, *,
               counts_as_restart: bool, backend: str | None = None,
               pane: str | None = None) -> ProcessStatus:
    """The backend started the program. With `start_secs: 0` it is RUNNING at once. The
    row of short runs goes on: only a run that lasts `backoff.reset_after` ends it."""
    state = S.RUNNING if spec.start_secs <= 0 else S.STARTING
    fails = _streak(st)
    st = _to_starting(st, now)
    return st.to(
        state, now, spec=spec, pid=pid, started_at=now, retry_at=None,
        restart_requested=False, error=None, backend=backend, pane=pane,
        restarts=st.restarts + (1 if counts_as_restart else 0),
        fails=fails, health="unknown",
    )


def on_spawn_failed(st: ProcessStatus, spec: ProcessSpec, error: str, now: float, *,
                    permanent: bool) -> ProcessStatus:
    """A program that cannot even be started: FATAL at once when retrying cannot help
    (no such binary), otherwise counted like a failed start."""
    if permanent:
        return _to_fatal(st, now, spec=spec, pid=None, error=error, restart_requested=False)
    fails = _streak(st)
    st = replace(_to_starting(st, now), fails=fails, spec=spec)
    return _short_run(st, spec, now, error=error, pid=None, restart_requested=False)


def _streak(st: ProcessStatus) -> int:
    """Short runs so far in this row. Leaving FATAL by a spawn means the config changed
    (a user start passes through STOPPED and resets it), so that is a fresh row."""
    return 0 if st.state == S.FATAL else st.fails


def _to_starting(st: ProcessStatus, now: float) -> ProcessStatus:
    return st if st.state == S.STARTING else st.to(S.STARTING, now)


def promote(st: ProcessStatus, now: float) -> ProcessStatus:
    """Up for `start_secs`: the start succeeded. The row of short runs goes on until the run
    has lasted `backoff.reset_after` (judged when it ends)."""
    return st.to(S.RUNNING, now)


def on_exit(st: ProcessStatus, exit: ExitInfo, now: float) -> ProcessStatus:
    """Decide what an exit means: a stop we asked for, a failed start, or a crash.

    A pending restart (the user's, or one a reload asked for) makes the exit count as the
    stop it was waiting for, so the next plan starts it again whatever the policy says."""
    spec = st.spec
    if st.state not in UP_STATES and st.state != S.STOPPING:
        return st  # a late duplicate event; nothing runs any more
    uptime = now - (st.started_at if st.started_at is not None else now)
    # a run lasted once it passed both start_secs and reset_after: with `reset_after: 0` a
    # failed start must still count
    lasted = spec is not None and uptime >= max(spec.backoff.reset_after, spec.start_secs)
    common: dict[str, object] = {"pid": None, "last_exit": exit}
    if lasted:
        st = replace(st, fails=0)
    if st.state == S.STOPPING or not st.wanted or st.restart_requested or spec is None:
        return _to_stopped(st, now, **common)
    if st.state == S.STARTING and uptime < spec.start_secs:
        return _short_run(st, spec, now, error=f"exited too quickly ({exit.describe()})",
                          **common)
    if not _policy_restarts(spec.restart, exit):
        return st.to(S.EXITED, now, retry_at=None, error=None, **common)
    if lasted:
        return st.to(S.EXITED, now, retry_at=now, error=None, **common)
    return _short_run(st, spec, now, **common,
                      error=f"exited {format_duration(uptime)} after starting "
                            f"({exit.describe()})")


def _policy_restarts(policy: RestartPolicy, exit: ExitInfo) -> bool:
    if policy == RestartPolicy.ALWAYS:
        return True
    if policy == RestartPolicy.ON_FAILURE:
        return exit.failed
    return False


def _short_run(st: ProcessStatus, spec: ProcessSpec, now: float, *, error: str,
               **changes: object) -> ProcessStatus:
    """One more short run in a row: wait longer before the next try, or give up."""
    fails = st.fails + 1
    if fails >= spec.max_restarts:
        return _to_fatal(st, now, fails=fails, error=f"{error}; gave up after {fails} "
                         f"short run{'s' if fails != 1 else ''} in a row (each under "
                         f"backoff.reset_after, {format_duration(spec.backoff.reset_after)})",
                         **changes)
    return st.to(S.BACKOFF, now, fails=fails, retry_at=now + spec.backoff.delay(fails),
                 error=error, **changes)


def _to_fatal(st: ProcessStatus, now: float, **changes: object) -> ProcessStatus:
    return st.to(S.FATAL, now, retry_at=None, **changes)


def _to_stopped(st: ProcessStatus, now: float, **changes: object) -> ProcessStatus:
    return st.to(S.STOPPED, now, retry_at=None, restart_requested=False, **changes)


# --- the user's intent -----------------------------------------------------------------------

def request_start(st: ProcessStatus, now: float) -> ProcessStatus:
    """`start`: want it running again. Anything not up gets a fresh row of short runs and a
    restart count from zero (also a process the user stopped mid-backoff); one already up is
    left alone."""
    if st.state in UP_STATES:
        return replace(st, wanted=True)
    if st.state in (S.FATAL, S.BACKOFF, S.EXITED):
        st = st.to(S.STOPPED, now)
    return replace(st, wanted=True, fails=0, restarts=0, retry_at=None, error=None)


def request_stop(st: ProcessStatus, now: float) -> ProcessStatus:
    """`stop`: nothing restarts it until the user starts it again, not even the policy."""
    if st.state in (S.FATAL, S.BACKOFF, S.EXITED):
        st = st.to(S.STOPPED, now)
    return replace(st, wanted=False, fails=0, retry_at=None, restart_requested=False)


def request_restart(st: ProcessStatus, now: float) -> ProcessStatus:
    """`restart`: a start, plus, for one that is up, a stop the planner turns into a Restart."""
    st = request_start(st, now)
    if st.state in UP_STATES:
        return replace(st, restart_requested=True)
    return st


def begin_stop(st: ProcessStatus, now: float) -> ProcessStatus:
    """The runtime sent the stop signal (for a Stop or a Restart); the exit ends it."""
    return st.to(S.STOPPING, now)


def give_up(st: ProcessStatus, reason: str, now: float) -> ProcessStatus:
    """A process that ended for a reason no restart can fix (an agent that is not logged in):
    FATAL with that reason, until the user starts it again. Only one waiting for its restart:
    an exit the user asked for stays STOPPED."""
    if st.state not in (S.EXITED, S.BACKOFF):
        return st
    return _to_fatal(st, now, error=reason)
