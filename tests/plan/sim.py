"""A pure stand-in for the runtime: applies the planner's actions with the lifecycle functions,
the way `wezparallel.runtime.supervisor` does, but with scripted spawns and exits and a
FakeClock. Every status change is checked move by move against TRANSITIONS, so a function that
changed `state` without going through the table would be caught here.
"""

from __future__ import annotations

import signal
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from unittest import mock

from wezparallel.clock import FakeClock
from wezparallel.plan import lifecycle as lc
from wezparallel.plan.actions import Action, Forget, Promote, Restart, Start, Stop, Update
from wezparallel.plan.lifecycle import TRANSITIONS, ExitInfo, ProcessStatus, State
from wezparallel.plan.planner import Plan, plan
from wezparallel.spec.model import Dependency, DependencyCondition, ProcessSpec

DOWN_FOR_GOOD = frozenset({State.STOPPED, State.EXITED, State.FATAL, State.BACKOFF})


def spec(name: str = "a", ws: str = "ws", **kw: Any) -> ProcessSpec:
    """A ProcessSpec with test-friendly defaults; `depends=("b",)` means ws:b, started."""
    depends = kw.pop("depends", ())
    healthy = kw.pop("healthy", ())
    deps = tuple(Dependency(f"{ws}:{d}") for d in depends) + tuple(
        Dependency(f"{ws}:{d}", DependencyCondition.HEALTHY) for d in healthy)
    kw.setdefault("command", ("prog", name))
    return ProcessSpec(workspace=ws, name=name, depends_on=deps, **kw)


def specs(*items: ProcessSpec) -> dict[str, ProcessSpec]:
    return {s.id: s for s in items}


@dataclass
class Sim:
    desired: dict[str, ProcessSpec]
    clock: FakeClock = field(default_factory=FakeClock)
    statuses: dict[str, ProcessStatus] = field(default_factory=dict)
    applied: list[Action] = field(default_factory=list)
    plans: list[Plan] = field(default_factory=list)
    spawn_failures: dict[str, list[bool]] = field(default_factory=dict)  # id -> [permanent]
    moves: list[tuple[State, State]] = field(default_factory=list)
    next_pid: int = 100

    @property
    def now(self) -> float:
        return self.clock.now

    def st(self, id_: str) -> ProcessStatus:
        return self.statuses[id_]

    def state(self, id_: str) -> State:
        return self.statuses[id_].state

    # --- driving -----------------------------------------------------------------------------

    def plan(self) -> Plan:
        return plan(self.desired, self.statuses, self.now)

    def step(self) -> Plan:
        """One plan, applied in order."""
        current = self.plan()
        self.plans.append(current)
        for action in current.actions:
            self.apply(action)
        return current

    def settle(self, rounds: int = 50) -> list[Action]:
        """Replan and apply until the plan is empty, as the runtime does after each event."""
        done: list[Action] = []
        for _ in range(rounds):
            current = self.step()
            if not current.actions:
                return done
            done.extend(current.actions)
        raise AssertionError(f"no fixed point after {rounds} plans: {self.plans[-3:]}")

    def advance(self, seconds: float) -> list[Action]:
        self.clock.advance(seconds)
        return self.settle()

    def run_to_wake(self) -> list[Action]:
        """Jump the clock to the plan's wake_at (as the runtime's timer would) and settle."""
        wake = self.plan().wake_at
        assert wake is not None, "nothing is due"
        self.clock.now = max(self.now, wake)
        return self.settle()

    # --- events ------------------------------------------------------------------------------

    def exit(self, id_: str, code: int | None = 1, sig: int | None = None,
             known: bool = True) -> ProcessStatus:
        st = self.statuses[id_]
        assert st.pid is not None, f"{id_} has no live instance ({st.state})"
        return self._set(id_, lc.on_exit, ExitInfo(code, sig, known), self.now)

    def finish_stops(self) -> None:
        """Every STOPPING process goes down, as after its stop signal."""
        for id_, st in sorted(self.statuses.items()):
            if st.state == State.STOPPING:
                self.exit(id_, code=None, sig=signal.SIGTERM)

    def user(self, id_: str, verb: str) -> ProcessStatus:
        fn = {"start": lc.request_start, "stop": lc.request_stop,
              "restart": lc.request_restart}[verb]
        st = self.statuses.get(id_) or lc.initial(self.desired[id_], self.now)
        self.statuses[id_] = st
        return self._set(id_, fn, self.now)

    def set_health(self, id_: str, health: str) -> None:
        self.statuses[id_] = replace(self.statuses[id_], health=health)

    # --- applying, like Supervisor._apply ----------------------------------------------------

    def apply(self, action: Action) -> None:
        self.applied.append(action)
        st = self.statuses.get(action.id)
        match action:
            case Start():
                if st is None or st.state not in lc.UP_STATES | {State.STOPPING}:
                    self._start(action, st or lc.initial(action.spec, self.now))
            case Stop() | Restart():
                if st is not None and st.state in lc.UP_STATES:
                    self._set(action.id, lc.begin_stop, self.now)
            case Update(spec=new):
                if st is not None:
                    self.statuses[action.id] = replace(st, spec=new)
            case Promote():
                if st is not None and st.state == State.STARTING:
                    self._set(action.id, lc.promote, self.now)
            case Forget():
                if st is not None and st.state not in lc.UP_STATES | {State.STOPPING}:
                    del self.statuses[action.id]

    def _start(self, action: Start, st: ProcessStatus) -> None:
        self.statuses[action.id] = replace(st, spec=action.spec)
        failures = self.spawn_failures.get(action.id)
        if failures:
            permanent = failures.pop(0)
            self._set(action.id, lc.on_spawn_failed, action.spec, "cannot start", self.now,
                      permanent=permanent)
            return
        self.next_pid += 1
        self._set(action.id, lc.on_spawned, action.spec, self.next_pid, self.now,
                  counts_as_restart=action.counts_as_restart, backend="subprocess")

    def _set(self, id_: str, fn: Any, *args: Any, **kw: Any) -> ProcessStatus:
        """Apply one lifecycle function, recording each move it makes through the table."""
        before = self.statuses[id_]
        moves: list[tuple[State, State]] = []
        original = lc.check

        def recording(old: State, new: State) -> State:
            moves.append((old, new))
            return original(old, new)

        with mock.patch.object(lc, "check", recording):
            after: ProcessStatus = fn(before, *args, **kw)
        assert_moves_by_table(before.state, after.state, moves)
        self.moves.extend(moves)
        self.statuses[id_] = after
        return after


def assert_moves_by_table(before: State, after: State,
                          moves: list[tuple[State, State]]) -> None:
    """The moves recorded for one change form a chain from `before` to `after` along the
    table; a state changed without `ProcessStatus.to` leaves a gap in the chain."""
    at = before
    for old, new in moves:
        assert old == at, f"move {old}->{new} does not start at {at}"
        assert new == old or new in TRANSITIONS[old], f"illegal move {old}->{new}"
        at = new
    assert at == after, f"state went {before}->{after} outside the table (moves {moves})"


def ids_of(actions: list[Action] | tuple[Action, ...], kind: type) -> list[str]:
    return [a.id for a in actions if isinstance(a, kind)]


def by_id(statuses: Mapping[str, ProcessStatus]) -> dict[str, State]:
    return {k: v.state for k, v in statuses.items()}
