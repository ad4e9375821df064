"""plan(desired, observed, now) on hand-built observations: what each state calls for, the
reload diff per field, ordering and wake_at."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from wezparallel.plan.actions import Forget, Promote, Restart, Start, Stop, Update
from wezparallel.plan.lifecycle import ProcessStatus, State
from wezparallel.plan.planner import Plan, plan
from wezparallel.spec.model import (
    BackendName,
    Backoff,
    ClaudeSpec,
    EventHook,
    HealthProbe,
    Layout,
    PaneSpec,
    ProcessSpec,
    RestartPolicy,
    SourceRef,
    WorktreeSpec,
)

from .sim import spec, specs

T = 1000.0
A = spec("a")


def up(s: ProcessSpec, state: State = State.RUNNING, **kw: Any) -> ProcessStatus:
    base: dict[str, Any] = {"id": s.id, "state": state, "spec": s, "pid": 7,
                            "started_at": T - 100}
    return ProcessStatus(**(base | kw))


def down(s: ProcessSpec, state: State, **kw: Any) -> ProcessStatus:
    base: dict[str, Any] = {"id": s.id, "state": state, "spec": s, "started_at": T - 100}
    return ProcessStatus(**(base | kw))


def one(desired: ProcessSpec | None, st: ProcessStatus | None, now: float = T) -> Plan:
    ids = {x.id for x in (desired, st) if x is not None}
    assert len(ids) == 1
    return plan({desired.id: desired} if desired else {}, {st.id: st} if st else {}, now)


# --- what each state calls for -------------------------------------------------------------

def test_a_new_process_is_started_unless_autostart_is_off() -> None:
    assert one(A, None).actions == (Start(A.id, A, "new"),)
    assert one(spec("a", autostart=False), None).actions == ()


def test_a_never_started_status_from_the_runtime_is_new_too() -> None:
    st = ProcessStatus(id=A.id, spec=A)
    assert one(A, st).actions == (Start(A.id, A, "new"),)


def test_a_wanted_process_stopped_after_running_is_started_by_the_user() -> None:
    assert one(A, down(A, State.STOPPED)).actions == (Start(A.id, A, "user"),)


def test_starting_waits_for_start_secs_then_promotes() -> None:
    s = spec("a", start_secs=3.0)
    st = up(s, State.STARTING, started_at=T)
    early = one(s, st, T + 2.9)
    assert (early.actions, early.wake_at) == ((), T + 3.0)
    due = one(s, st, T + 3.0)
    assert (due.actions, due.wake_at) == ((Promote(s.id),), None)


@pytest.mark.parametrize("state", [State.RUNNING, State.STOPPING])
def test_a_process_that_is_up_or_going_down_needs_nothing(state: State) -> None:
    assert one(A, up(A, state)) == Plan((), None)


def test_exited_with_a_restart_due_is_started_at_once_as_a_restart() -> None:
    p = one(A, down(A, State.EXITED, retry_at=T))
    assert p.actions == (Start(A.id, A, "restart-policy", counts_as_restart=True),)


def test_exited_for_good_stays_down() -> None:
    assert one(A, down(A, State.EXITED, retry_at=None)) == Plan((), None)


def test_backoff_waits_for_its_retry() -> None:
    st = down(A, State.BACKOFF, retry_at=T + 4, fails=2)
    assert one(A, st, T + 3.99) == Plan((), T + 4)
    due = one(A, st, T + 4)
    assert due.actions == (Start(A.id, A, "backoff", counts_as_restart=True),)


def test_fatal_stays_down_however_long_we_wait() -> None:
    st = down(A, State.FATAL, fails=5, error="gave up")
    for now in (T, T + 10, T + 1e6):
        assert one(A, st, now) == Plan((), None)


def test_fatal_is_started_again_by_a_config_change() -> None:
    new = dataclasses.replace(A, max_restarts=9)
    assert one(new, down(A, State.FATAL)).actions == (Start(A.id, new, "config-changed"),)


# --- the user's intent ---------------------------------------------------------------------

@pytest.mark.parametrize("state", [State.STARTING, State.RUNNING])
def test_a_user_stop_of_a_process_that_is_up_is_a_stop(state: State) -> None:
    assert one(A, up(A, state, wanted=False)).actions == (Stop(A.id, "user"),)


@pytest.mark.parametrize("state", [State.STOPPED, State.STOPPING, State.EXITED,
                                   State.FATAL, State.BACKOFF])
def test_a_user_stopped_process_is_never_started(state: State) -> None:
    st = down(A, state, wanted=False, retry_at=T - 1)
    assert one(A, st, T + 100) == Plan((), None)


@pytest.mark.parametrize("state", [State.STOPPED, State.STOPPING])
@pytest.mark.parametrize("field", ["command", "max_restarts"])
def test_a_user_stopped_process_whose_spec_changes_gets_an_update_not_a_start(
        state: State, field: str) -> None:
    value: Any = ("other",) if field == "command" else 9
    new = dataclasses.replace(A, **{field: value})
    p = one(new, down(A, state, wanted=False))
    assert p.actions == (Update(A.id, new, (field,)),)


def test_a_user_restart_of_a_process_that_is_up_is_a_restart() -> None:
    p = one(A, up(A, restart_requested=True))
    assert p.actions == (Restart(A.id, A, "user"),)


# --- the reload diff -------------------------------------------------------------------------

RESTART_CHANGES: dict[str, Any] = {
    "command": ("prog", "--other"),
    "cwd": "/elsewhere",
    "env": (("K", "v2"),),
    "shell": True,
    "backend": BackendName.TMUX,
    "pane": PaneSpec(split="right"),
    "claude": ClaudeSpec(prompt="hi"),
    "worktree": WorktreeSpec(branch="b"),
}
IN_PLACE_CHANGES: dict[str, Any] = {
    "restart": RestartPolicy.ALWAYS,
    "backoff": Backoff(initial=2.0),
    "max_restarts": 9,
    "start_secs": 4.0,
    "stop_signal": "INT",
    "stop_timeout": 3.0,
    "health": (HealthProbe(kind="tcp", port=80),),
    "depends_on": (),
    "autostart": False,
    "layout": Layout.ROWS,  # panes are re-arranged in place, never restarted for it
    "on": (EventHook("fatal", ("notify-send", "down")),),  # hooks are looked up per event
}
BASE = spec("a", env=(("K", "v1"),), depends=("z",))


def test_the_tables_above_cover_every_compared_field() -> None:
    compared = {f.name for f in dataclasses.fields(ProcessSpec) if f.compare}
    assert compared == set(RESTART_CHANGES) | set(IN_PLACE_CHANGES) | {"workspace", "name"}
    for name, value in (RESTART_CHANGES | IN_PLACE_CHANGES).items():
        assert getattr(BASE, name) != value, name


@pytest.mark.parametrize("field", sorted(RESTART_CHANGES))
@pytest.mark.parametrize("state", [State.STARTING, State.RUNNING])
def test_a_change_to_what_runs_restarts_only_that_process(field: str, state: State) -> None:
    other = spec("b")
    new = dataclasses.replace(BASE, **{field: RESTART_CHANGES[field]})
    observed = {BASE.id: up(BASE, state), other.id: up(other)}
    p = plan(specs(new, other), observed, T)
    assert p.actions == (Restart(BASE.id, new, "config-changed", (field,)),)


@pytest.mark.parametrize("field", sorted(IN_PLACE_CHANGES))
def test_a_change_to_how_it_is_supervised_is_applied_in_place(field: str) -> None:
    new = dataclasses.replace(BASE, **{field: IN_PLACE_CHANGES[field]})
    p = plan(specs(new, spec("b")), {BASE.id: up(BASE), "ws:b": up(spec("b"))}, T)
    assert p.actions == (Update(BASE.id, new, (field,)),)


def test_restart_lists_every_changed_field() -> None:
    new = dataclasses.replace(A, command=("x",), max_restarts=1)
    p = one(new, up(A))
    assert p.actions == (Restart(A.id, new, "config-changed", ("command", "max_restarts")),)


def test_unchanged_processes_and_a_moved_definition_need_nothing() -> None:
    moved = dataclasses.replace(A, source=SourceRef("other.yaml", 40, 3))
    assert one(moved, up(A)) == Plan((), None)


def test_a_finished_one_shot_gets_an_update_for_supervision_but_runs_for_a_new_command() -> None:
    st = down(A, State.EXITED, retry_at=None, last_exit=None)
    calmer = dataclasses.replace(A, restart=RestartPolicy.ALWAYS)
    assert one(calmer, st).actions == (Update(A.id, calmer, ("restart",)),)
    rerun = dataclasses.replace(A, command=("prog", "v2"))
    assert one(rerun, st).actions == (Start(A.id, rerun, "config-changed"),)


@pytest.mark.parametrize("state", [State.BACKOFF, State.STOPPED])
def test_a_changed_spec_starts_a_waiting_process_now(state: State) -> None:
    new = dataclasses.replace(A, command=("fixed",))
    st = down(A, state, retry_at=T + 50)
    assert one(new, st).actions == (Start(A.id, new, "config-changed"),)


def test_a_wanted_process_going_down_is_started_with_the_new_spec_once_down() -> None:
    new = dataclasses.replace(A, command=("fixed",))
    assert one(new, up(A, State.STOPPING)) == Plan((), None)
    assert one(new, down(A, State.STOPPED)).actions == (Start(A.id, new, "config-changed"),)


@pytest.mark.parametrize(("state", "expected"), [
    (State.STARTING, (Stop(A.id, "removed"),)),
    (State.RUNNING, (Stop(A.id, "removed"),)),
    (State.STOPPING, ()),
    (State.STOPPED, (Forget(A.id),)),
    (State.EXITED, (Forget(A.id),)),
    (State.BACKOFF, (Forget(A.id),)),
    (State.FATAL, (Forget(A.id),)),
])
def test_a_removed_process_is_stopped_then_forgotten(state: State,
                                                     expected: tuple[object, ...]) -> None:
    assert one(None, down(A, state, retry_at=T)).actions == expected


# --- ordering and wake_at ------------------------------------------------------------------

def test_stops_come_before_everything_else_and_starts_come_last() -> None:
    a, b, c, d, e = (spec(n) for n in "abcde")
    slow = spec("f", start_secs=5)
    desired = specs(a, dataclasses.replace(c, command=("x",)), d, e, slow)
    observed = {
        "ws:a": down(a, State.STOPPED),  # start
        "ws:b": up(b),  # removed -> stop
        "ws:c": up(c),  # restart
        "ws:d": up(d, wanted=False),  # user stop
        "ws:e": down(e, State.EXITED, retry_at=T),  # policy restart
        "ws:f": up(slow, State.STARTING, started_at=T - 5),  # promote
        "ws:g": down(spec("g"), State.FATAL),  # removed -> forget
    }
    kinds = [(a.kind, a.id) for a in plan(desired, observed, T).actions]
    assert kinds == [("stop", "ws:b"), ("restart", "ws:c"), ("stop", "ws:d"),
                     ("promote", "ws:f"), ("forget", "ws:g"),
                     ("start", "ws:a"), ("start", "ws:e")]


def test_wake_at_is_the_earliest_due_promotion_or_retry() -> None:
    a, b, c = spec("a", start_secs=10), spec("b"), spec("c")
    observed = {"ws:a": up(a, State.STARTING, started_at=T - 2),  # due T+8
                "ws:b": down(b, State.BACKOFF, retry_at=T + 5),
                "ws:c": down(c, State.EXITED, retry_at=T + 7)}
    assert plan(specs(a, b, c), observed, T) == Plan((), T + 5)
    assert plan(specs(a, c), observed, T).wake_at == T + 7  # b removed: a Forget
    assert plan(specs(a), {"ws:a": observed["ws:a"]}, T).wake_at == T + 8


def test_a_plan_is_true_only_with_actions() -> None:
    assert not Plan((), 5.0)
    assert Plan((Forget("x"),), None)
