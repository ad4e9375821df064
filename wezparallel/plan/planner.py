"""`plan(desired, observed, now)`: the one reconcile decision, pure.

Given what the files ask for and what runs, list the actions that move one toward the other,
stops before starts, honouring `depends_on` both ways: a process starts only once its
dependencies are RUNNING (or healthy when so asked), and a dependency stops only once its
dependents being stopped with it are down. Actions that must wait are simply not emitted: the
runtime replans after every applied action and at `wake_at`, so ordering emerges over a few
iterations without any scheduling state here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from wezparallel.plan.actions import Action, Forget, Promote, Restart, Start, Stop, Update
from wezparallel.plan.lifecycle import UP_STATES, ProcessStatus, State, initial
from wezparallel.spec.model import DependencyCondition, ProcessSpec


@dataclass(frozen=True)
class Plan:
    actions: tuple[Action, ...]
    wake_at: float | None  # the earliest time something is due with no event to announce it

    def __bool__(self) -> bool:
        return bool(self.actions)


def plan(desired: Mapping[str, ProcessSpec], observed: Mapping[str, ProcessStatus],
         now: float) -> Plan:
    stops: list[Action] = []
    others: list[Action] = []
    starts: list[Action] = []
    wakes: list[float] = []
    for pid in sorted(desired.keys() | observed.keys()):
        spec = desired.get(pid)
        st = observed.get(pid)
        if spec is None:
            assert st is not None
            if st.state in UP_STATES:
                stops.append(Stop(pid, "removed"))
            elif st.state != State.STOPPING:
                others.append(Forget(pid))
            continue
        if st is None:
            st = initial(spec, now)
        _plan_one(spec, st, observed, now, stops, others, starts, wakes)
    stops = _dependents_first(stops, desired, observed)
    return Plan(tuple(stops + others + starts), min(wakes) if wakes else None)


def _plan_one(spec: ProcessSpec, st: ProcessStatus, observed: Mapping[str, ProcessStatus],
              now: float, stops: list[Action], others: list[Action], starts: list[Action],
              wakes: list[float]) -> None:
    old = st.spec
    changed = old is not None and old != spec
    if not st.wanted:
        if st.state in UP_STATES:
            stops.append(Stop(spec.id, "user"))
        elif changed and old is not None:
            others.append(Update(spec.id, spec, old.changed_fields(spec)))
        return
    if st.state in UP_STATES:
        if old is not None and old.needs_restart_for(spec):
            stops.append(Restart(spec.id, spec, "config-changed", old.changed_fields(spec)))
        elif st.restart_requested:
            stops.append(Restart(spec.id, spec, "user"))
        elif changed and old is not None:
            others.append(Update(spec.id, spec, old.changed_fields(spec)))
        elif st.state == State.STARTING and st.started_at is not None:
            due = st.started_at + spec.start_secs
            if now >= due:
                others.append(Promote(spec.id))
            else:
                wakes.append(due)
        return
    start = _start_for(spec, st, changed, now, wakes)
    if start is not None and _dependencies_ready(spec, observed):
        starts.append(start)


def _start_for(spec: ProcessSpec, st: ProcessStatus, changed: bool, now: float,
               wakes: list[float]) -> Start | None:
    """Whether a process that is down should be started now, and why."""
    if st.state == State.STOPPING:
        return None
    if changed:
        return Start(spec.id, spec, "config-changed")
    if st.state == State.STOPPED:
        return Start(spec.id, spec, "user" if st.spec is not None else "new")
    if st.state in (State.BACKOFF, State.EXITED) and st.retry_at is not None:
        if now >= st.retry_at:
            reason = "backoff" if st.state == State.BACKOFF else "restart-policy"
            return Start(spec.id, spec, reason, counts_as_restart=True)
        wakes.append(st.retry_at)
    return None  # FATAL, or EXITED under a policy that does not restart


def _dependencies_ready(spec: ProcessSpec, observed: Mapping[str, ProcessStatus]) -> bool:
    for dep in spec.depends_on:
        st = observed.get(dep.process)
        if st is None or st.state != State.RUNNING:
            return False
        if dep.condition == DependencyCondition.HEALTHY and st.health != "healthy":
            return False
    return True


def _dependents_first(stops: list[Action], desired: Mapping[str, ProcessSpec],
                      observed: Mapping[str, ProcessStatus]) -> list[Action]:
    """Hold back the stop of a process while something that depends on it, and is going
    down too, is still up; the next plan, after that dependent exits, stops it."""
    going_down = {a.id for a in stops} | {
        pid for pid, st in observed.items() if st.state == State.STOPPING}
    held: set[str] = set()
    for action in stops:
        for other in going_down - {action.id}:
            spec = desired.get(other) or (observed[other].spec if other in observed else None)
            if spec is not None and any(d.process == action.id for d in spec.depends_on):
                held.add(action.id)
    return [a for a in stops if a.id not in held]
