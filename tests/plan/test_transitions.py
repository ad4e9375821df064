"""The transition table, move by move: the allowed set is written out here independently of
the code, every allowed move is produced by some lifecycle function (no dead entries), and
every other move is refused."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from wezparallel.plan import lifecycle as lc
from wezparallel.plan.lifecycle import (
    TRANSITIONS,
    ExitInfo,
    IllegalTransition,
    ProcessStatus,
    State,
    check,
)

from .sim import assert_moves_by_table, spec

S = State
ALLOWED = {
    (S.STOPPED, S.STARTING), (S.STOPPED, S.FATAL),
    (S.STARTING, S.RUNNING), (S.STARTING, S.BACKOFF), (S.STARTING, S.STOPPING),
    (S.STARTING, S.FATAL), (S.STARTING, S.EXITED), (S.STARTING, S.STOPPED),
    (S.RUNNING, S.STOPPING), (S.RUNNING, S.EXITED), (S.RUNNING, S.STOPPED),
    (S.RUNNING, S.BACKOFF), (S.RUNNING, S.FATAL),
    (S.BACKOFF, S.STARTING), (S.BACKOFF, S.FATAL), (S.BACKOFF, S.STOPPED),
    (S.STOPPING, S.STOPPED),
    (S.EXITED, S.STARTING), (S.EXITED, S.STOPPED), (S.EXITED, S.FATAL),
    (S.FATAL, S.STARTING), (S.FATAL, S.STOPPED),
}
SLOW = spec(start_secs=5.0, max_restarts=3)
T = 100.0


def status(state: State, **kw: object) -> ProcessStatus:
    base = {"spec": SLOW, "since": 0.0}
    if state in (S.STARTING, S.RUNNING, S.STOPPING):
        base |= {"pid": 42, "started_at": T - 1.0}
    return ProcessStatus(id=SLOW.id, state=state, **(base | kw))  # type: ignore[arg-type]


Producer = Callable[[], ProcessStatus]
PRODUCERS: dict[tuple[State, State], tuple[State, Producer]] = {
    (S.STOPPED, S.STARTING): (S.STOPPED, lambda: lc.on_spawned(
        status(S.STOPPED), SLOW, 7, T, counts_as_restart=False)),
    (S.STOPPED, S.FATAL): (S.STOPPED, lambda: lc.on_spawn_failed(
        status(S.STOPPED), SLOW, "no such file", T, permanent=True)),
    (S.STARTING, S.RUNNING): (S.STARTING, lambda: lc.promote(status(S.STARTING), T)),
    (S.STARTING, S.BACKOFF): (S.STARTING, lambda: lc.on_exit(
        status(S.STARTING), ExitInfo(1), T)),
    (S.STARTING, S.STOPPING): (S.STARTING, lambda: lc.begin_stop(status(S.STARTING), T)),
    (S.STARTING, S.FATAL): (S.STARTING, lambda: lc.on_exit(
        status(S.STARTING, fails=2), ExitInfo(1), T)),
    (S.STARTING, S.EXITED): (S.STARTING, lambda: lc.on_exit(
        status(S.STARTING, started_at=T - 60.0), ExitInfo(1), T)),
    (S.STARTING, S.STOPPED): (S.STARTING, lambda: lc.on_exit(
        status(S.STARTING, wanted=False), ExitInfo(0), T)),
    (S.RUNNING, S.STOPPING): (S.RUNNING, lambda: lc.begin_stop(status(S.RUNNING), T)),
    (S.RUNNING, S.EXITED): (S.RUNNING, lambda: lc.on_exit(
        status(S.RUNNING, started_at=T - 60.0), ExitInfo(1), T)),
    (S.RUNNING, S.BACKOFF): (S.RUNNING, lambda: lc.on_exit(status(S.RUNNING), ExitInfo(1), T)),
    (S.RUNNING, S.FATAL): (S.RUNNING, lambda: lc.on_exit(
        status(S.RUNNING, fails=2), ExitInfo(1), T)),
    (S.RUNNING, S.STOPPED): (S.RUNNING, lambda: lc.on_exit(
        status(S.RUNNING, restart_requested=True), ExitInfo(0), T)),
    (S.BACKOFF, S.STARTING): (S.BACKOFF, lambda: lc.on_spawned(
        status(S.BACKOFF, fails=1), SLOW, 7, T, counts_as_restart=True)),
    (S.BACKOFF, S.FATAL): (S.BACKOFF, lambda: lc.on_spawn_failed(
        status(S.BACKOFF, fails=1), SLOW, "gone", T, permanent=True)),
    (S.BACKOFF, S.STOPPED): (S.BACKOFF, lambda: lc.request_stop(status(S.BACKOFF), T)),
    (S.STOPPING, S.STOPPED): (S.STOPPING, lambda: lc.on_exit(
        status(S.STOPPING), ExitInfo(None, 15), T)),
    (S.EXITED, S.STARTING): (S.EXITED, lambda: lc.on_spawned(
        status(S.EXITED), SLOW, 7, T, counts_as_restart=True)),
    (S.EXITED, S.STOPPED): (S.EXITED, lambda: lc.request_stop(status(S.EXITED), T)),
    (S.EXITED, S.FATAL): (S.EXITED, lambda: lc.on_spawn_failed(
        status(S.EXITED), SLOW, "gone", T, permanent=True)),
    (S.FATAL, S.STARTING): (S.FATAL, lambda: lc.on_spawned(
        status(S.FATAL, fails=3), SLOW, 7, T, counts_as_restart=False)),
    (S.FATAL, S.STOPPED): (S.FATAL, lambda: lc.request_start(status(S.FATAL), T)),
}


def test_table_is_exactly_the_allowed_moves() -> None:
    table = {(old, new) for old, targets in TRANSITIONS.items() for new in targets}
    assert table == ALLOWED
    assert set(TRANSITIONS) == set(State)


@pytest.mark.parametrize(("old", "new"), sorted(itertools.product(State, State)))
def test_every_move_allowed_or_refused(old: State, new: State) -> None:
    st = status(old)
    if old == new or (old, new) in ALLOWED:
        assert check(old, new) is new
        assert st.to(new, T).state is new
    else:
        with pytest.raises(IllegalTransition, match=f"{old} -> {new}"):
            st.to(new, T)


@pytest.mark.parametrize("move", sorted(ALLOWED))
def test_every_allowed_move_is_made_by_a_lifecycle_function(
        move: tuple[State, State]) -> None:
    assert set(PRODUCERS) == ALLOWED
    before, produce = PRODUCERS[move]
    assert produce().state is move[1]
    assert before is move[0]


def test_since_moves_only_when_the_state_changes() -> None:
    st = status(S.STARTING, since=3.0)
    assert st.to(S.STARTING, T, fails=1).since == 3.0
    assert st.to(S.RUNNING, T).since == T


@pytest.mark.parametrize(("state", "call"), [
    (S.RUNNING, lambda st: lc.on_spawned(st, SLOW, 7, T, counts_as_restart=False)),
    (S.STOPPING, lambda st: lc.on_spawned(st, SLOW, 7, T, counts_as_restart=False)),
    (S.STOPPED, lambda st: lc.begin_stop(st, T)),
    (S.FATAL, lambda st: lc.begin_stop(st, T)),
    (S.BACKOFF, lambda st: lc.promote(st, T)),
    (S.EXITED, lambda st: lc.promote(st, T)),
])
def test_lifecycle_functions_refuse_moves_a_runtime_bug_would_make(
        state: State, call: Callable[[ProcessStatus], ProcessStatus]) -> None:
    with pytest.raises(IllegalTransition):
        call(status(state))


def test_chain_checker_catches_a_state_set_behind_the_tables_back() -> None:
    assert_moves_by_table(S.STOPPED, S.RUNNING, [(S.STOPPED, S.STARTING),
                                                  (S.STARTING, S.RUNNING)])
    with pytest.raises(AssertionError, match="outside the table"):
        assert_moves_by_table(S.STOPPED, S.RUNNING, [(S.STOPPED, S.STARTING)])
    with pytest.raises(AssertionError, match="illegal move"):
        assert_moves_by_table(S.STOPPING, S.STARTING, [(S.STOPPING, S.STARTING)])
