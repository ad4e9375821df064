"""Random scripted histories: whatever happens, states move only along TRANSITIONS (checked
move by move by the Sim), and the planner never starts a process that is up, going down, or
stopped by the user, and never puts a start before a stop."""

from __future__ import annotations

import dataclasses
import signal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from wezparallel.plan.actions import Action, Restart, Start, Stop
from wezparallel.plan.lifecycle import TRANSITIONS, UP_STATES, State
from wezparallel.plan.planner import Plan
from wezparallel.spec.model import Backoff, ProcessSpec, RestartPolicy

from .sim import Sim, spec, specs

NAMES = ("p0", "p1", "p2")


@st.composite
def process_specs(draw: st.DrawFn) -> dict[str, ProcessSpec]:
    out = []
    for i, name in enumerate(NAMES):
        deps: dict[str, Any] = {}
        if i == 2:  # p2 needs p1, started or healthy; p1 maybe needs p0
            deps = {draw(st.sampled_from(["depends", "healthy"])): ("p1",)}
        elif i == 1 and draw(st.booleans()):
            deps = {"depends": ("p0",)}
        out.append(spec(
            name, start_secs=draw(st.sampled_from([0.0, 1.0])),
            restart=draw(st.sampled_from(list(RestartPolicy))),
            max_restarts=draw(st.integers(1, 3)),
            autostart=draw(st.sampled_from([True, True, True, False])),
            backoff=Backoff(initial=0.5, factor=2.0, max=2.0), **deps))
    return specs(*out)


EXTRA = spec("x3", start_secs=0.5, max_restarts=2)
which = st.sampled_from(NAMES).map(lambda n: f"ws:{n}")
EVENTS = st.one_of(
    st.tuples(st.just("exit"), which,
              st.sampled_from([(0, None, True), (1, None, True), (None, signal.SIGKILL, True),
                               (None, None, False)])),
    st.tuples(st.just("advance"), st.floats(0.0, 5.0)),
    st.tuples(st.just("wake")),
    st.tuples(st.just("user"), which, st.sampled_from(["start", "stop", "restart"])),
    st.tuples(st.just("fail_next_spawn"), which, st.booleans()),
    st.tuples(st.just("edit"), which, st.sampled_from(["command", "stop_timeout",
                                                        "restart"])),
    st.tuples(st.just("remove"), which),
    st.tuples(st.just("reload"), which),
    st.tuples(st.just("readd"), which),
    st.tuples(st.just("health"), which, st.sampled_from(["healthy", "unhealthy"])),
    st.tuples(st.just("finish_stops")),
)


def check_plan(sim: Sim, current: Plan) -> None:
    """What must hold of any plan, judged against the statuses it was made from."""
    actions: tuple[Action, ...] = current.actions
    assert len({a.id for a in actions}) == len(actions), actions
    kinds = [type(a) for a in actions]
    if Start in kinds:
        assert all(k is Start for k in kinds[kinds.index(Start):]), actions
    assert current.wake_at is None or current.wake_at > sim.now, (current, sim.now)
    stopped = {a.id for a in actions if isinstance(a, Stop | Restart)}
    for action in actions:
        if isinstance(action, Start):
            check_start(sim, action, stopped)
    check_dependents_first(sim, actions)


def check_start(sim: Sim, action: Start, stopped: set[str]) -> None:
    assert action.id in sim.desired
    status = sim.statuses.get(action.id)
    if status is None:
        assert action.spec.autostart, action
    else:
        assert status.state not in UP_STATES | {State.STOPPING}, (action, status)
        assert status.wanted, (action, status)
        if status.state == State.FATAL:
            assert status.spec != action.spec, (action, status)
    for dep in action.spec.depends_on:
        assert sim.statuses[dep.process].state == State.RUNNING, (action, dep)
        assert dep.process not in stopped, (action, dep)


def check_dependents_first(sim: Sim, actions: tuple[Action, ...]) -> None:
    """No dependency is stopped while a dependent going down with it is still up."""
    stopped = {a.id for a in actions if isinstance(a, Stop | Restart)}
    going_down = stopped | {i for i, s in sim.statuses.items() if s.state == State.STOPPING}
    for id_ in stopped:
        for other in going_down - {id_}:
            specs_of_other = (sim.desired.get(other), sim.statuses[other].spec)
            assert not any(d.process == id_ for s in specs_of_other if s is not None
                           for d in s.depends_on), (id_, other, actions)


def settle_checked(sim: Sim) -> None:
    for _ in range(60):
        current = sim.plan()
        check_plan(sim, current)
        for action in current.actions:
            sim.apply(action)
        if not current.actions:
            return
    raise AssertionError("the plan never settled")


def apply_event(sim: Sim, full: dict[str, ProcessSpec], event: tuple[Any, ...]) -> None:
    kind, *args = event
    if kind == "exit":
        id_, (code, sig, known) = args
        if id_ in sim.statuses and sim.st(id_).pid is not None:
            sim.exit(id_, code, sig, known)
    elif kind == "advance":
        sim.clock.advance(args[0])
    elif kind == "wake":
        wake = sim.plan().wake_at
        if wake is not None:
            sim.clock.now = wake
    elif kind == "user":
        if args[0] in sim.statuses or args[0] in sim.desired:
            sim.user(args[0], args[1])
    elif kind == "fail_next_spawn":
        sim.spawn_failures.setdefault(args[0], []).append(args[1])
    elif kind == "edit" and args[0] in sim.desired:
        old = sim.desired[args[0]]
        changes: dict[str, dict[str, Any]] = {
            "command": {"command": (*old.command, "x")},
            "stop_timeout": {"stop_timeout": old.stop_timeout + 1},
            "restart": {"restart": RestartPolicy.ALWAYS}}
        change = changes[args[1]]
        sim.desired[args[0]] = dataclasses.replace(old, **change)
    elif kind == "remove":
        sim.desired.pop(args[0], None)
    elif kind == "reload":  # one reload that removes a process and adds or changes another
        sim.desired.pop(args[0], None)
        extra = sim.desired.get(EXTRA.id)
        sim.desired[EXTRA.id] = EXTRA if extra is None else dataclasses.replace(
            extra, command=(*extra.command, "y"))
    elif kind == "readd" and args[0] not in sim.desired:
        sim.desired[args[0]] = full[args[0]]
    elif kind == "health" and args[0] in sim.statuses:
        sim.set_health(args[0], args[1])
    elif kind == "finish_stops":
        sim.finish_stops()


@settings(max_examples=500, deadline=None)
@given(desired=process_specs(), events=st.lists(EVENTS, max_size=40))
def test_random_histories_keep_the_rules(desired: dict[str, ProcessSpec],
                                         events: list[tuple[Any, ...]]) -> None:
    sim = Sim(dict(desired))
    settle_checked(sim)
    for event in events:
        # (a stopped process may stay up a while: its stop waits for dependents to go down)
        stopped_and_down = {i for i, s in sim.statuses.items()
                            if not s.wanted and s.state not in UP_STATES}
        apply_event(sim, desired, event)
        settle_checked(sim)
        if event[0] != "user":  # only the user's own start undoes a stop
            for id_ in stopped_and_down & set(sim.statuses):
                assert not sim.st(id_).wanted
                assert sim.state(id_) not in UP_STATES
    assert all(old == new or new in TRANSITIONS[old] for old, new in sim.moves)
