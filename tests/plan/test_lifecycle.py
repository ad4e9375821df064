"""The lifecycle functions one at a time: start_secs, failed starts, the restart policy, the
user's intent, exit descriptions."""

from __future__ import annotations

import signal
from typing import Any

import pytest

from wezparallel.plan import lifecycle as lc
from wezparallel.plan.lifecycle import ExitInfo, ProcessStatus, State
from wezparallel.spec.model import Backoff, RestartPolicy

from .sim import spec

T = 500.0


def spawned(start_secs: float = 2.0, **kw: Any) -> ProcessStatus:
    s = spec(start_secs=start_secs, **kw)
    return lc.on_spawned(lc.initial(s, T), s, 11, T, counts_as_restart=False)


def running(restart: RestartPolicy = RestartPolicy.ON_FAILURE) -> ProcessStatus:
    return lc.promote(spawned(restart=restart), T + 2.0)


# --- start_secs ----------------------------------------------------------------------------

def test_start_secs_zero_is_running_at_once() -> None:
    st = spawned(start_secs=0)
    assert (st.state, st.pid, st.started_at, st.fails) == (State.RUNNING, 11, T, 0)


def test_start_secs_positive_waits_in_starting_then_promote_keeps_the_streak() -> None:
    """Only a run that lasts backoff.reset_after ends the row of short runs (issue 11.1)."""
    st = lc.on_spawned(ProcessStatus(id="ws:a", state=State.BACKOFF, fails=2), spec(), 12, T,
                       counts_as_restart=True)
    assert (st.state, st.fails) == (State.STARTING, 2)
    up = lc.promote(st, T + 1.0)
    assert (up.state, up.fails, up.since) == (State.RUNNING, 2, T + 1.0)


def test_on_spawned_clears_what_belonged_to_the_last_instance() -> None:
    old = ProcessStatus(id="ws:a", state=State.EXITED, error="boom", health="unhealthy",
                        restart_requested=True, restarts=4, retry_at=T)
    st = lc.on_spawned(old, spec(), 13, T, counts_as_restart=True, backend="tmux",
                       pane="%3")
    assert (st.error, st.health, st.restart_requested, st.retry_at) == (
        None, "unknown", False, None)
    assert (st.restarts, st.backend, st.pane, st.pid) == (5, "tmux", "%3", 13)


def test_initial_takes_the_users_intent_from_autostart() -> None:
    assert lc.initial(spec(), T).wanted
    off = lc.initial(spec(autostart=False), T)
    assert (off.wanted, off.state, off.since) == (False, State.STOPPED, T)


# --- failed starts -------------------------------------------------------------------------

def test_exit_before_start_secs_backs_off_with_the_first_delay() -> None:
    st = lc.on_exit(spawned(backoff=Backoff(initial=0.25)), ExitInfo(3), T + 1.9)
    assert (st.state, st.fails, st.pid) == (State.BACKOFF, 1, None)
    assert st.retry_at == pytest.approx(T + 1.9 + 0.25)
    assert st.error == "exited too quickly (exit 3)"
    assert st.last_exit == ExitInfo(3)


def test_a_clean_exit_before_start_secs_is_a_failed_start_too() -> None:
    st = lc.on_exit(spawned(restart=RestartPolicy.NEVER), ExitInfo(0), T + 0.5)
    assert st.state == State.BACKOFF


@pytest.mark.parametrize(("attempt", "delay"), [
    (0, 0.0), (1, 1.0), (2, 3.0), (3, 9.0), (4, 20.0), (5, 20.0), (5000, 20.0)])
def test_backoff_delay_is_initial_times_factor_to_the_n_minus_1_capped(
        attempt: int, delay: float) -> None:
    assert Backoff(initial=1.0, max=20.0, factor=3.0).delay(attempt) == delay


@pytest.mark.parametrize("max_restarts", [1, 2, 5])
def test_fatal_after_max_restarts_failed_starts_in_a_row(max_restarts: int) -> None:
    s = spec(max_restarts=max_restarts)
    st = lc.initial(s, T)
    for n in range(1, max_restarts + 1):
        st = lc.on_spawned(st, s, 20 + n, T, counts_as_restart=n > 1)
        st = lc.on_exit(st, ExitInfo(1), T + 0.1)
        assert st.fails == n
        assert st.state == (State.FATAL if n == max_restarts else State.BACKOFF)
    plural = "s" if max_restarts != 1 else ""
    assert st.error == (f"exited too quickly (exit 1); gave up after {max_restarts} "
                        f"short run{plural} in a row (each under backoff.reset_after, 1m)")
    assert st.retry_at is None


def test_temporary_spawn_failure_backs_off_and_records_the_spec_it_tried() -> None:
    s = spec(command=("new",))
    st = lc.on_spawn_failed(ProcessStatus(id=s.id, spec=spec()), s, "pane busy", T,
                            permanent=False)
    assert (st.state, st.fails, st.spec, st.error) == (State.BACKOFF, 1, s, "pane busy")
    assert st.retry_at == T + s.backoff.delay(1)


def test_permanent_spawn_failure_is_fatal_at_once() -> None:
    st = lc.on_spawn_failed(lc.initial(spec(), T), spec(), "no such file: prog", T,
                            permanent=True)
    assert (st.state, st.error, st.fails) == (State.FATAL, "no such file: prog", 0)


@pytest.mark.parametrize("permanent", [False, True])
def test_leaving_fatal_by_a_spawn_starts_a_fresh_streak(permanent: bool) -> None:
    """Only a config change spawns a FATAL process (a user start goes through STOPPED), and
    the new config deserves its own max_restarts attempts."""
    s = spec(max_restarts=3)
    fatal = ProcessStatus(id=s.id, state=State.FATAL, fails=3, spec=spec(command=("old",)))
    assert lc.on_spawned(fatal, s, 5, T, counts_as_restart=False).fails == 0
    failed = lc.on_spawn_failed(fatal, s, "busy", T, permanent=permanent)
    assert failed.state == (State.FATAL if permanent else State.BACKOFF)
    if not permanent:
        assert failed.fails == 1


# --- exit after RUNNING: the restart policy -------------------------------------------------

EXITS = {"clean": ExitInfo(0), "code": ExitInfo(2), "signal": ExitInfo(None, signal.SIGKILL),
         "unknown": ExitInfo(known=False), "no-status": ExitInfo(None)}


@pytest.mark.parametrize(("policy", "how", "restarts"), [
    (RestartPolicy.ALWAYS, "clean", True), (RestartPolicy.ALWAYS, "code", True),
    (RestartPolicy.ALWAYS, "signal", True), (RestartPolicy.ALWAYS, "unknown", True),
    (RestartPolicy.ON_FAILURE, "clean", False), (RestartPolicy.ON_FAILURE, "code", True),
    (RestartPolicy.ON_FAILURE, "signal", True), (RestartPolicy.ON_FAILURE, "unknown", True),
    (RestartPolicy.ON_FAILURE, "no-status", True),
    (RestartPolicy.NEVER, "clean", False), (RestartPolicy.NEVER, "code", False),
    (RestartPolicy.NEVER, "signal", False), (RestartPolicy.NEVER, "unknown", False),
])
def test_exit_after_running_follows_the_policy(policy: RestartPolicy, how: str,
                                               restarts: bool) -> None:
    """After a run that lasted backoff.reset_after (1m): at once, or not at all."""
    st = lc.on_exit(running(policy), EXITS[how], T + 60.0)
    assert st.state == State.EXITED
    assert st.retry_at == (T + 60.0 if restarts else None)
    assert (st.pid, st.last_exit, st.fails) == (None, EXITS[how], 0)


def test_exit_in_starting_after_start_secs_counts_as_a_run_not_a_failed_start() -> None:
    """The promotion may not have been applied yet when the exit arrives: a short run, but
    one that started (the message says how long it ran, not "too quickly")."""
    st = lc.on_exit(spawned(start_secs=2.0), ExitInfo(1), T + 2.0)
    assert (st.state, st.fails, st.error) == (State.BACKOFF, 1,
                                              "exited 2s after starting (exit 1)")
    lasted = lc.on_exit(spawned(start_secs=2.0), ExitInfo(1), T + 60.0)
    assert (lasted.state, lasted.fails, lasted.retry_at) == (State.EXITED, 0, T + 60.0)


# --- the user's intent ----------------------------------------------------------------------

@pytest.mark.parametrize("state_of", ["starting", "running"])
def test_a_user_stop_is_never_undone_by_the_policy(state_of: str) -> None:
    st = running(RestartPolicy.ALWAYS) if state_of == "running" else spawned()
    before = st.state
    st = lc.request_stop(st, T + 3.0)
    assert (st.state, st.wanted) == (before, False)  # the runtime's Stop moves it on
    down = lc.on_exit(st, ExitInfo(1), T + 3.5)  # even before the runtime's stop applied
    assert (down.state, down.retry_at, down.wanted) == (State.STOPPED, None, False)


@pytest.mark.parametrize("state", [State.BACKOFF, State.EXITED, State.FATAL])
def test_request_stop_brings_a_waiting_process_to_stopped(state: State) -> None:
    st = lc.request_stop(ProcessStatus(id="ws:a", state=state, retry_at=T, fails=2), T)
    assert (st.state, st.wanted, st.retry_at, st.fails) == (State.STOPPED, False, None, 0)


@pytest.mark.parametrize("state", [State.BACKOFF, State.EXITED, State.FATAL, State.STOPPED,
                                   State.STOPPING])
def test_request_start_gives_anything_down_a_fresh_streak(state: State) -> None:
    st = ProcessStatus(id="ws:a", state=state, wanted=False, fails=4, retry_at=T,
                       error="gave up")
    st = lc.request_start(st, T)
    expected = State.STOPPING if state == State.STOPPING else State.STOPPED
    assert (st.state, st.wanted, st.fails, st.retry_at, st.error) == (
        expected, True, 0, None, None)


def test_request_start_leaves_a_process_that_is_up_alone() -> None:
    st = spawned()
    assert lc.request_start(lc.request_stop(st, T), T) == st


def test_request_restart_marks_a_process_that_is_up() -> None:
    st = lc.request_restart(running(), T + 5)
    assert (st.state, st.restart_requested, st.wanted) == (State.RUNNING, True, True)
    assert not lc.request_stop(st, T + 5).restart_requested


def test_request_restart_of_a_fatal_process_is_a_start() -> None:
    st = lc.request_restart(ProcessStatus(id="ws:a", state=State.FATAL, fails=5), T)
    assert (st.state, st.fails, st.restart_requested) == (State.STOPPED, 0, False)


@pytest.mark.parametrize("policy", [RestartPolicy.NEVER, RestartPolicy.ON_FAILURE])
def test_an_exit_while_a_restart_is_pending_still_ends_in_a_start(
        policy: RestartPolicy) -> None:
    """A user restart must not be lost when the process dies before the stop is applied."""
    st = lc.request_restart(running(policy), T + 5)
    st = lc.on_exit(st, ExitInfo(0), T + 6)
    assert (st.state, st.wanted, st.restart_requested) == (State.STOPPED, True, False)


def test_the_stop_we_asked_for_ends_in_stopped_whatever_the_exit() -> None:
    st = lc.begin_stop(running(RestartPolicy.ALWAYS), T + 9)
    down = lc.on_exit(st, ExitInfo(None, signal.SIGKILL), T + 19)
    assert (down.state, down.since, down.pid) == (State.STOPPED, T + 19, None)
    assert down.last_exit == ExitInfo(None, signal.SIGKILL)


@pytest.mark.parametrize("state", [State.STOPPED, State.BACKOFF, State.EXITED, State.FATAL])
@pytest.mark.parametrize("wanted", [True, False])
def test_a_late_duplicate_exit_changes_nothing(state: State, wanted: bool) -> None:
    st = ProcessStatus(id="ws:a", state=state, wanted=wanted, spec=spec(), fails=1,
                       last_exit=ExitInfo(1))
    assert lc.on_exit(st, ExitInfo(9), T) == st


# --- exit descriptions ---------------------------------------------------------------------

@pytest.mark.parametrize(("info", "text", "failed"), [
    (ExitInfo(0), "exit 0", False),
    (ExitInfo(7), "exit 7", True),
    (ExitInfo(None, signal.SIGTERM), "killed by SIGTERM", True),
    (ExitInfo(None, 99), "killed by signal 99", True),
    (ExitInfo(known=False), "exit status unknown", True),
    (ExitInfo(None, None), "exit status unknown", True),
])
def test_exit_info_describes_and_classifies(info: ExitInfo, text: str, failed: bool) -> None:
    assert (info.describe(), info.failed) == (text, failed)


# --- giving up on an exit no restart can fix --------------------------------------------------

def test_give_up_makes_a_process_waiting_for_its_restart_fatal_with_the_reason() -> None:
    later = T + 3600.0  # after a long run: a crash, restarted at once
    exited = lc.on_exit(running(), ExitInfo(code=1), later)
    assert (exited.state, exited.retry_at) == (State.EXITED, later)
    fatal = lc.give_up(exited, "not logged in", later)
    assert (fatal.state, fatal.error, fatal.retry_at) == (State.FATAL, "not logged in", None)
    backoff = lc.on_exit(spawned(), ExitInfo(code=1), T + 0.5)
    assert backoff.state == State.BACKOFF
    assert lc.give_up(backoff, "x", T + 1.0).state == State.FATAL


@pytest.mark.parametrize("state", [State.STOPPED, State.RUNNING, State.STARTING, State.FATAL])
def test_give_up_leaves_anything_else_alone(state: State) -> None:
    st = ProcessStatus(id="ws:a", state=state, error="before")
    assert lc.give_up(st, "not logged in", T) == st
