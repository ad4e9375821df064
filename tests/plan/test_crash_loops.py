"""Crash loops (issue 11.1): a process that keeps dying soon after it started, even after
reaching RUNNING, backs off with a growing delay and ends FATAL with the reason; a run that
lasted `backoff.reset_after` ends the streak. Pure: lifecycle functions and scripted histories
with a fake clock, no sleeping."""

from __future__ import annotations

import dataclasses
import signal

import pytest

from wezparallel.plan import lifecycle as lc
from wezparallel.plan.actions import Start
from wezparallel.plan.lifecycle import ExitInfo, ProcessStatus, State
from wezparallel.spec.model import Backoff, ProcessSpec, RestartPolicy

from .sim import Sim, spec, specs

T = 500.0


def up(s: ProcessSpec, *, fails: int = 0, since: float = T) -> ProcessStatus:
    """A RUNNING instance of `s` started at `since` with `fails` short runs behind it."""
    st = lc.on_spawned(replace_fails(lc.initial(s, since), fails), s, 11, since,
                       counts_as_restart=False)
    return lc.promote(st, since + s.start_secs) if st.state == State.STARTING else st


def replace_fails(st: ProcessStatus, fails: int) -> ProcessStatus:
    return dataclasses.replace(st, fails=fails)


# --- the lifecycle, one exit at a time --------------------------------------------------------

def test_a_crash_soon_after_running_backs_off_instead_of_restarting_at_once() -> None:
    s = spec(start_secs=1.0, backoff=Backoff(initial=0.5, factor=2, max=30, reset_after=60))
    st = lc.on_exit(up(s), ExitInfo(3), T + 2.0)
    assert (st.state, st.fails, st.pid) == (State.BACKOFF, 1, None)
    assert st.retry_at == pytest.approx(T + 2.0 + 0.5)
    assert st.error == "exited 2s after starting (exit 3)"
    assert st.last_exit == ExitInfo(3)


@pytest.mark.parametrize(("fails", "delay"), [(1, 1.0), (2, 2.0), (3, 4.0), (6, 30.0)])
def test_the_delay_grows_with_each_short_run_in_a_row(fails: int, delay: float) -> None:
    s = spec(max_restarts=100, backoff=Backoff(initial=0.5, factor=2, max=30))
    st = lc.on_exit(up(s, fails=fails), ExitInfo(1), T + 5.0)
    assert (st.state, st.fails) == (State.BACKOFF, fails + 1)
    assert st.retry_at == pytest.approx(T + 5.0 + delay)


def test_a_run_that_lasted_reset_after_ends_the_streak_and_restarts_at_once() -> None:
    s = spec(start_secs=1.0, backoff=Backoff(reset_after=60))
    st = lc.on_exit(up(s, fails=4), ExitInfo(1), T + 60.0)
    assert (st.state, st.fails, st.retry_at, st.error) == (State.EXITED, 0, T + 60.0, None)


def test_a_process_that_keeps_crashing_ends_fatal_with_the_reason() -> None:
    s = spec(start_secs=1.0, max_restarts=3)
    st = lc.on_exit(up(s, fails=2), ExitInfo(None, signal.SIGSEGV), T + 2.5)
    assert (st.state, st.fails, st.retry_at, st.pid) == (State.FATAL, 3, None, None)
    assert st.error == ("exited 2.5s after starting (killed by SIGSEGV); gave up after 3 "
                        "short runs in a row (each under backoff.reset_after, 1m)")


def test_failed_starts_and_quick_crashes_make_one_streak() -> None:
    """Reaching RUNNING for a moment does not wipe out the failures before it."""
    s = spec(start_secs=1.0, max_restarts=3)
    st = lc.initial(s, T)
    st = lc.on_exit(lc.on_spawned(st, s, 1, T, counts_as_restart=False), ExitInfo(1), T + 0.2)
    assert (st.state, st.fails) == (State.BACKOFF, 1)
    st = lc.promote(lc.on_spawned(st, s, 2, T + 1, counts_as_restart=True), T + 2)
    assert (st.state, st.fails) == (State.RUNNING, 1)
    st = lc.on_exit(st, ExitInfo(1), T + 4)
    assert (st.state, st.fails) == (State.BACKOFF, 2)


def test_start_secs_zero_does_not_wipe_the_streak_either() -> None:
    s = spec(start_secs=0, max_restarts=2)
    st = lc.on_exit(up(s), ExitInfo(1), T + 1)
    st = lc.on_spawned(st, s, 12, T + 2, counts_as_restart=True)
    assert (st.state, st.fails) == (State.RUNNING, 1)
    assert lc.on_exit(st, ExitInfo(1), T + 3).state == State.FATAL


def test_reset_after_zero_is_supervisords_rule() -> None:
    """Any run that reached start_secs counts as a success: restart at once, forever."""
    s = spec(start_secs=1.0, max_restarts=1, backoff=Backoff(reset_after=0))
    st = lc.on_exit(up(s, fails=0), ExitInfo(1), T + 1.5)
    assert (st.state, st.retry_at, st.fails) == (State.EXITED, T + 1.5, 0)


def test_with_reset_after_zero_failed_starts_still_end_fatal() -> None:
    s = spec(start_secs=1.0, max_restarts=2, backoff=Backoff(reset_after=0))
    st = lc.on_spawned(lc.initial(s, T), s, 1, T, counts_as_restart=False)
    st = lc.on_exit(st, ExitInfo(1), T + 0.5)
    assert (st.state, st.fails) == (State.BACKOFF, 1)
    st = lc.on_exit(lc.on_spawned(st, s, 2, T + 1, counts_as_restart=True), ExitInfo(1),
                    T + 1.5)
    assert (st.state, st.fails) == (State.FATAL, 2)


def test_an_exit_the_policy_does_not_restart_is_no_crash() -> None:
    s = spec(restart=RestartPolicy.ON_FAILURE, max_restarts=1)
    st = lc.on_exit(up(s), ExitInfo(0), T + 2)
    assert (st.state, st.retry_at, st.error) == (State.EXITED, None, None)


def test_a_stop_after_a_long_run_ends_the_streak() -> None:
    """A config change restarts it: a streak from long ago must not count against it."""
    s = spec(max_restarts=3)
    st = lc.begin_stop(up(s, fails=2), T + 600)
    assert lc.on_exit(st, ExitInfo(None, signal.SIGTERM), T + 601).fails == 0


def test_a_user_start_resets_the_restart_count() -> None:
    st = ProcessStatus(id="ws:a", state=State.FATAL, fails=5, restarts=7, spec=spec())
    assert lc.request_start(st, T).restarts == 0
    assert lc.request_restart(st, T).restarts == 0


# --- histories: planner and lifecycle together, with a fake clock -----------------------------

# `sh -c "sleep 2; exit 3"` with start_secs 1 and the default backoff and limit.
CRASHER = spec("crasher", start_secs=1.0, restart=RestartPolicy.ON_FAILURE)


def run_for(sim: Sim, id_: str, seconds: float, code: int = 3) -> ProcessStatus:
    """Let the instance live `seconds` (promoted on the way), then exit with `code`."""
    assert sim.state(id_) in lc.UP_STATES
    started = sim.st(id_).started_at
    assert started is not None
    sim.clock.now = started + seconds
    sim.settle()
    return sim.exit(id_, code=code)


def test_a_process_dying_two_seconds_in_backs_off_growing_then_ends_fatal() -> None:
    sim = Sim(specs(CRASHER))
    sim.settle()
    delays: list[float] = []
    while True:
        st = run_for(sim, CRASHER.id, 2.0)
        if st.state == State.FATAL:
            break
        assert st.state == State.BACKOFF
        assert sim.settle() == []  # not at once
        before = sim.now
        restarted = sim.run_to_wake()
        assert [a.kind for a in restarted] == ["start"]
        delays.append(sim.now - before)
    assert delays == [0.5, 1.0, 2.0, 4.0]
    st = sim.st(CRASHER.id)
    assert (st.fails, st.restarts, st.pid) == (5, 4, None)
    assert st.error == ("exited 2s after starting (exit 3); gave up after 5 short runs in a "
                        "row (each under backoff.reset_after, 1m)")
    assert sim.advance(3600) == []
    assert sim.plan().wake_at is None


def test_a_long_run_resets_the_delay_to_nothing_then_it_grows_again() -> None:
    sim = Sim(specs(CRASHER))
    sim.settle()
    run_for(sim, CRASHER.id, 2.0)
    sim.run_to_wake()
    run_for(sim, CRASHER.id, 2.0)
    assert sim.st(CRASHER.id).fails == 2
    sim.run_to_wake()
    st = run_for(sim, CRASHER.id, 61.0)  # stayed up past reset_after
    assert (st.state, st.fails) == (State.EXITED, 0)
    assert sim.settle() == [Start(CRASHER.id, CRASHER, "restart-policy",
                                  counts_as_restart=True)]
    st = run_for(sim, CRASHER.id, 2.0)
    assert (st.state, st.fails, st.retry_at) == (State.BACKOFF, 1, sim.now + 0.5)


def test_a_user_start_after_fatal_gives_a_fresh_streak_and_count() -> None:
    s = dataclasses.replace(CRASHER, max_restarts=2)
    sim = Sim(specs(s))
    sim.settle()
    run_for(sim, s.id, 2.0)
    sim.run_to_wake()
    assert run_for(sim, s.id, 2.0).state == State.FATAL
    sim.user(s.id, "start")
    sim.settle()
    st = sim.st(s.id)
    assert (st.state, st.fails, st.restarts) == (State.STARTING, 0, 0)
    assert run_for(sim, s.id, 2.0).state == State.BACKOFF
