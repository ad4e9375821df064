"""depends_on: dependencies start first (RUNNING, or healthy when asked), dependents stop
first, along chains."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from wezparallel.plan.actions import Restart, Start, Stop
from wezparallel.plan.lifecycle import ProcessStatus, State
from wezparallel.plan.planner import plan
from wezparallel.spec.model import ProcessSpec

from .sim import Sim, ids_of, spec, specs

T = 1000.0
DB = spec("db", start_secs=2.0)
API = spec("api", start_secs=0, depends=("db",))
WEB = spec("web", start_secs=0, depends=("api",))


def status(s: ProcessSpec, state: State, **kw: Any) -> ProcessStatus:
    base: dict[str, Any] = {"id": s.id, "state": state, "spec": s, "started_at": T - 10}
    return ProcessStatus(**(base | kw))


@pytest.mark.parametrize("db_state", [None, State.STOPPED, State.STARTING, State.BACKOFF,
                                      State.EXITED, State.FATAL, State.STOPPING])
def test_a_dependent_waits_until_its_dependency_is_running(db_state: State | None) -> None:
    observed = {API.id: status(API, State.STOPPED)}
    if db_state is not None:
        observed[DB.id] = status(DB, db_state, wanted=False)
    assert API.id not in ids_of(plan(specs(DB, API), observed, T).actions, Start)
    observed[DB.id] = status(DB, State.RUNNING)
    assert ids_of(plan(specs(DB, API), observed, T).actions, Start) == [API.id]


def test_a_dependency_missing_from_the_config_keeps_the_dependent_down() -> None:
    assert plan(specs(API), {}, T).actions == ()


@pytest.mark.parametrize(("health", "starts"), [
    ("unknown", False), ("unhealthy", False), ("healthy", True)])
def test_condition_healthy_waits_for_health(health: str, starts: bool) -> None:
    app = spec("app", healthy=("db",))
    observed = {DB.id: status(DB, State.RUNNING, health=health)}
    assert ids_of(plan(specs(DB, app), observed, T).actions, Start) == (
        [app.id] if starts else [])


def test_condition_started_does_not_care_about_health() -> None:
    observed = {DB.id: status(DB, State.RUNNING, health="unhealthy")}
    assert ids_of(plan(specs(DB, API), observed, T).actions, Start) == [API.id]


def test_a_chain_of_three_starts_in_order() -> None:
    sim = Sim(specs(WEB, API, DB))
    assert sim.settle() == [Start(DB.id, DB, "new")]
    assert (sim.state(API.id) if API.id in sim.statuses else None) is None
    assert sim.plan().wake_at == sim.now + 2.0
    sim.run_to_wake()
    assert ids_of(sim.applied, Start) == [DB.id, API.id, WEB.id]
    assert {i: sim.state(i) for i in sim.statuses} == dict.fromkeys(
        (DB.id, API.id, WEB.id), State.RUNNING)


def test_a_chain_of_three_stops_dependents_first() -> None:
    sim = Sim(specs(WEB, API, DB))
    sim.settle()
    sim.run_to_wake()
    sim.desired = {}
    order: list[str] = []
    for _ in range(3):
        stops = ids_of(sim.settle(), Stop)
        assert len(stops) == 1
        order += stops
        sim.finish_stops()
    assert order == [WEB.id, API.id, DB.id]
    sim.settle()
    assert sim.statuses == {}


def test_user_stops_of_both_stop_the_dependent_first() -> None:
    sim = Sim(specs(API, DB))
    sim.settle()
    sim.run_to_wake()
    sim.user(DB.id, "stop")
    sim.user(API.id, "stop")
    assert sim.settle() == [Stop(API.id, "user")]
    sim.finish_stops()
    assert sim.settle() == [Stop(DB.id, "user")]


def test_stopping_only_the_dependency_does_not_touch_the_dependent() -> None:
    sim = Sim(specs(API, DB))
    sim.settle()
    sim.run_to_wake()
    sim.user(DB.id, "stop")
    assert sim.settle() == [Stop(DB.id, "user")]
    assert sim.state(API.id) == State.RUNNING


def test_a_dependent_is_not_started_against_a_dependency_about_to_restart() -> None:
    """Both changed: the dependent goes down first, then must wait for the dependency's new
    instance rather than start against the old one that is about to be stopped."""
    sim = Sim(specs(API, DB))
    sim.settle()
    sim.run_to_wake()
    new_db = dataclasses.replace(DB, command=("db", "v2"))
    new_api = dataclasses.replace(API, command=("api", "v2"))
    sim.desired = specs(new_api, new_db)
    assert sim.settle() == [Restart(API.id, new_api, "config-changed", ("command",))]
    sim.finish_stops()
    assert sim.settle() == [Restart(DB.id, new_db, "config-changed", ("command",))]
    assert sim.state(API.id) == State.STOPPED
    sim.finish_stops()
    assert sim.settle() == [Start(DB.id, new_db, "config-changed")]
    sim.run_to_wake()
    assert ids_of(sim.applied, Start)[-2:] == [DB.id, API.id]
    assert sim.st(API.id).spec == new_api


def test_a_dependency_cycle_cannot_hang_a_shutdown() -> None:
    a, b = spec("a", start_secs=0, depends=("b",)), spec("b", start_secs=0, depends=("a",))
    observed = {s.id: status(s, State.RUNNING, pid=3) for s in (a, b)}
    assert ids_of(plan({}, observed, T).actions, Stop) == [a.id, b.id]
    observed[a.id] = status(a, State.STOPPING, pid=3)
    assert plan({}, observed, T).actions == ()  # a is on its way down: b waits for it
