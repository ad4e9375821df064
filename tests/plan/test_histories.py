"""Scripted histories: the planner and the lifecycle together, applied by the pure Sim runtime,
with time moved by a FakeClock."""

from __future__ import annotations

import dataclasses
import signal

import pytest

from wezparallel.plan.actions import Forget, Restart, Start, Stop, Update
from wezparallel.plan.lifecycle import State
from wezparallel.spec.model import Backoff, RestartPolicy

from .sim import Sim, ids_of, spec, specs

FLAPPY = spec("flap", start_secs=1.0, max_restarts=4, restart=RestartPolicy.ALWAYS,
              backoff=Backoff(initial=0.5, factor=2.0, max=1.5))


def started(sim: Sim) -> list[Start]:
    return [a for a in sim.applied if isinstance(a, Start)]


def test_flapping_ends_fatal_after_exactly_max_restarts_failed_starts() -> None:
    sim = Sim(specs(FLAPPY))
    sim.settle()
    delays = []
    while sim.state(FLAPPY.id) != State.FATAL:
        assert sim.state(FLAPPY.id) == State.STARTING
        sim.clock.advance(0.2)  # dies before start_secs
        st = sim.exit(FLAPPY.id, code=1)
        if st.state == State.BACKOFF:
            assert st.retry_at is not None
            delays.append(st.retry_at - sim.now)
            assert sim.settle() == []  # nothing until the retry is due
            sim.run_to_wake()
    st = sim.st(FLAPPY.id)
    assert len(started(sim)) == 4 == st.fails
    assert delays == [0.5, 1.0, 1.5]  # 0.5 * 2**(n-1), capped at 1.5
    assert [s.reason for s in started(sim)] == ["new", "backoff", "backoff", "backoff"]
    assert st.error == ("exited too quickly (exit 1); gave up after 4 short runs in a row "
                        "(each under backoff.reset_after, 1m)")
    assert (st.pid, st.restarts) == (None, 3)
    assert sim.advance(3600) == []
    assert sim.plan().wake_at is None
    assert sim.state(FLAPPY.id) == State.FATAL


@pytest.mark.parametrize("verb", ["start", "restart"])
def test_a_user_start_brings_a_fatal_process_back_with_a_fresh_streak(verb: str) -> None:
    sim = Sim(specs(FLAPPY), statuses={})
    sim.spawn_failures[FLAPPY.id] = [True]  # no such binary
    sim.settle()
    assert sim.state(FLAPPY.id) == State.FATAL
    sim.user(FLAPPY.id, verb)
    assert [(a.kind, getattr(a, "reason", None)) for a in sim.settle()] == [("start", "new")]
    assert (sim.state(FLAPPY.id), sim.st(FLAPPY.id).fails) == (State.STARTING, 0)


def test_a_config_change_gives_a_fatal_process_max_restarts_new_tries() -> None:
    sim = Sim(specs(FLAPPY))
    sim.settle()
    for _ in range(4):
        sim.clock.advance(0.1)
        sim.exit(FLAPPY.id)
        if sim.state(FLAPPY.id) == State.BACKOFF:
            sim.run_to_wake()
    assert sim.state(FLAPPY.id) == State.FATAL
    fixed = dataclasses.replace(FLAPPY, command=("prog", "--fixed"))
    sim.desired = specs(fixed)
    assert sim.settle() == [Start(fixed.id, fixed, "config-changed")]
    sim.clock.advance(0.1)
    assert sim.exit(fixed.id).state == State.BACKOFF  # not FATAL: a new row of tries
    assert sim.settle() == []  # and the changed spec was recorded: no start loop


def test_a_crash_after_running_is_restarted_at_once_then_backs_off_if_it_keeps_dying() -> None:
    s = spec("web", start_secs=1.0, restart=RestartPolicy.ON_FAILURE, max_restarts=3)
    sim = Sim(specs(s))
    sim.settle()
    sim.run_to_wake()
    assert sim.state(s.id) == State.RUNNING
    first_pid = sim.st(s.id).pid
    sim.clock.advance(60)
    sim.exit(s.id, code=None, sig=signal.SIGKILL)
    assert sim.settle() == [Start(s.id, s, "restart-policy", counts_as_restart=True)]
    st = sim.st(s.id)
    assert (st.state, st.restarts, st.since) == (State.STARTING, 1, sim.now)
    assert st.pid is not None and st.pid != first_pid
    sim.clock.advance(0.3)
    assert sim.exit(s.id).state == State.BACKOFF  # dying again at once: now it waits


@pytest.mark.parametrize(("policy", "code", "restarted"), [
    (RestartPolicy.ALWAYS, 0, True), (RestartPolicy.ON_FAILURE, 0, False),
    (RestartPolicy.ON_FAILURE, 3, True), (RestartPolicy.NEVER, 3, False)])
def test_restart_policy_over_a_history(policy: RestartPolicy, code: int,
                                       restarted: bool) -> None:
    s = spec("job", start_secs=0, restart=policy)
    sim = Sim(specs(s))
    sim.settle()
    sim.clock.advance(5)
    sim.exit(s.id, code=code)
    sim.settle()
    sim.advance(1000)
    st = sim.st(s.id)
    assert len(started(sim)) == (2 if restarted else 1)
    assert st.state == (State.RUNNING if restarted else State.EXITED)
    assert st.restarts == (1 if restarted else 0)


def test_restart_counts_grow_with_each_automatic_restart_only() -> None:
    s = spec("w", start_secs=0, restart=RestartPolicy.ALWAYS)
    sim = Sim(specs(s))
    sim.settle()
    for n in range(1, 4):
        sim.clock.advance(60)  # runs that lasted: restarted at once, no backoff
        sim.exit(s.id, code=0)
        sim.settle()
        assert sim.st(s.id).restarts == n
    sim.user(s.id, "restart")
    sim.settle()
    sim.finish_stops()
    sim.settle()
    assert (sim.state(s.id), sim.st(s.id).restarts) == (State.RUNNING, 3)


@pytest.mark.parametrize("policy", list(RestartPolicy))
def test_a_user_stop_is_never_undone_and_a_user_start_undoes_it(policy: RestartPolicy) -> None:
    s = spec("w", start_secs=0, restart=policy)
    sim = Sim(specs(s))
    sim.settle()
    sim.user(s.id, "stop")
    assert sim.settle() == [Stop(s.id, "user")]
    assert sim.state(s.id) == State.STOPPING
    sim.exit(s.id, code=1)  # dies badly while stopping: still the stop we asked for
    assert sim.state(s.id) == State.STOPPED
    assert sim.advance(1000) == []
    sim.user(s.id, "start")
    assert sim.settle() == [Start(s.id, s, "user")]
    assert sim.state(s.id) == State.RUNNING


def test_a_user_stop_during_backoff_cancels_the_retry() -> None:
    sim = Sim(specs(FLAPPY))
    sim.settle()
    sim.exit(FLAPPY.id)
    assert sim.state(FLAPPY.id) == State.BACKOFF
    sim.user(FLAPPY.id, "stop")
    assert sim.advance(100) == []
    assert sim.state(FLAPPY.id) == State.STOPPED


def test_temporary_spawn_failures_back_off_then_succeed() -> None:
    s = spec("p", start_secs=0, max_restarts=5, backoff=Backoff(initial=1, factor=1, max=1))
    sim = Sim(specs(s))
    sim.spawn_failures[s.id] = [False, False]
    sim.settle()
    assert (sim.state(s.id), sim.st(s.id).error) == (State.BACKOFF, "cannot start")
    sim.run_to_wake()
    sim.run_to_wake()
    # running, but the row of short runs ends only once it has lasted backoff.reset_after
    assert (sim.state(s.id), sim.st(s.id).fails, len(started(sim))) == (State.RUNNING, 2, 3)


# --- reload histories --------------------------------------------------------------------------

def test_reload_restarts_only_the_changed_process_and_keeps_the_other_pids() -> None:
    a, b = spec("a", start_secs=0), spec("b", start_secs=0)
    sim = Sim(specs(a, b))
    sim.settle()
    pids = {i: sim.st(i).pid for i in sim.statuses}
    new_a = dataclasses.replace(a, env=(("X", "1"),))
    sim.desired = specs(new_a, b)
    assert sim.settle() == [Restart(a.id, new_a, "config-changed", ("env",))]
    sim.finish_stops()
    assert sim.settle() == [Start(a.id, new_a, "config-changed")]
    assert sim.st(a.id).pid != pids[a.id]
    assert sim.st(a.id).spec == new_a
    assert sim.st(b.id).pid == pids[b.id]


def test_reload_of_an_in_place_field_keeps_the_pid_and_records_the_spec() -> None:
    a = spec("a", start_secs=0)
    sim = Sim(specs(a))
    sim.settle()
    pid = sim.st(a.id).pid
    calmer = dataclasses.replace(a, stop_timeout=30.0)
    sim.desired = specs(calmer)
    assert sim.settle() == [Update(a.id, calmer, ("stop_timeout",))]
    assert (sim.st(a.id).pid, sim.st(a.id).spec) == (pid, calmer)


def test_a_removed_process_is_stopped_then_forgotten() -> None:
    a, b = spec("a", start_secs=0), spec("b", start_secs=0)
    sim = Sim(specs(a, b))
    sim.settle()
    sim.desired = specs(b)
    assert sim.settle() == [Stop(a.id, "removed")]
    assert sim.settle() == []  # still going down
    sim.finish_stops()
    assert sim.settle() == [Forget(a.id)]
    assert set(sim.statuses) == {b.id}


def test_a_user_stopped_process_keeps_its_stop_through_a_reload() -> None:
    a = spec("a", start_secs=0)
    sim = Sim(specs(a))
    sim.settle()
    sim.user(a.id, "stop")
    sim.settle()
    sim.finish_stops()
    new = dataclasses.replace(a, command=("v2",))
    sim.desired = specs(new)
    assert sim.settle() == [Update(a.id, new, ("command",))]
    assert (sim.state(a.id), sim.st(a.id).wanted) == (State.STOPPED, False)
    sim.user(a.id, "start")
    assert sim.settle() == [Start(a.id, new, "user")]


def test_stops_and_starts_in_one_reload_are_ordered_stop_first() -> None:
    a, b = spec("a", start_secs=0), spec("b", start_secs=0)
    sim = Sim(specs(a))
    sim.settle()
    sim.desired = specs(b)
    assert sim.step().actions == (Stop(a.id, "removed"), Start(b.id, b, "new"))
    assert ids_of(sim.applied, Start) == [a.id, b.id]
