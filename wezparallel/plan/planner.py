"""`plan(desired, observed, now)`: the one reconcile decision, pure.

Given what the files ask for and what runs, list the actions that move one toward the other,
stops before starts, honouring `depends_on` both ways: a process starts only once its
dependencies are RUNNING (or healthy when so asked) and none of them is about to go down, and a
dependency stops only once its dependents being stopped with it are down. Actions that must
wait are simply not emitted: the runtime replans after every applied action and at `wake_at`,
so ordering emerges over a few iterations without any scheduling state here.

A config change on a process that is down is judged by why it is down: FATAL, backing off,
stopped while wanted, or about to be restarted by its policy -> start it with the new spec;
EXITED for good (its policy said so) or stopped by the user -> record the new spec (Update)
unless the change is to what runs, which starts a finished one-shot again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from wezparallel.plan.actions import Action, Forget, Promote, Restart, Start, Stop, Update
from wezparallel.plan.lifecycle import UP_STATES, ProcessStatus, State, initial
from wezparallel.spec.model import DependencyCondition, ProcessSpec


@dataclass(frozen=True)
class Plan:
    """Actions in the order they are applied: stops and restarts, then updates, promotions
    and forgets, then starts."""

    actions: tuple[Action, ...]
    wake_at: float | None  # the earliest time something is due with no event to announce it

    def __bool__(self) -> bool:
        return bool(self.actions)


@dataclass
class _Draft:
    """The actions of one plan, sorted into the order they are applied in."""

    stops: list[Stop | Restart] = field(default_factory=list)
    others: list[Action] = field(default_factory=list)
    starts: list[Start] = field(default_factory=list)
    wakes: list[float] = field(default_factory=list)


def plan(desired: Mapping[str, ProcessSpec], observed: Mapping[str, ProcessStatus],
         now: float) -> Plan:
    draft = _Draft()
    for id_ in sorted(desired.keys() | observed.keys()):
        spec = desired.get(id_)
        st = observed.get(id_)
        if spec is None:
            assert st is not None  # the id came from one of the two maps
            _plan_removed(st, draft)
        else:
            _plan_one(spec, st if st is not None else initial(spec, now), now, draft)
    going_down = {a.id for a in draft.stops} | {
        id_ for id_, st in observed.items() if st.state == State.STOPPING}
    stops = _dependents_first(draft.stops, going_down, desired, observed)
    starts = [s for s in draft.starts if _dependencies_ready(s.spec, observed, going_down)]
    return Plan((*stops, *draft.others, *starts), min(draft.wakes, default=None))


def _plan_removed(st: ProcessStatus, draft: _Draft) -> None:
    if st.state in UP_STATES:
        draft.stops.append(Stop(st.id, "removed"))
    elif st.state != State.STOPPING:
        draft.others.append(Forget(st.id))


def _plan_one(spec: ProcessSpec, st: ProcessStatus, now: float, draft: _Draft) -> None:
    if st.state in UP_STATES:
        _plan_up(spec, st, now, draft)
        return
    old = st.spec
    changed = old is not None and old != spec
    if st.state == State.STOPPING:
        if changed and old is not None and not st.wanted:
            draft.others.append(Update(spec.id, spec, old.changed_fields(spec)))
        return  # a wanted one is started with the new spec once it is down
    start = _start_for(spec, st, changed, now, draft.wakes)
    if start is not None:
        draft.starts.append(start)
    elif changed and old is not None:
        draft.others.append(Update(spec.id, spec, old.changed_fields(spec)))


def _plan_up(spec: ProcessSpec, st: ProcessStatus, now: float, draft: _Draft) -> None:
    old = st.spec
    if not st.wanted:
        draft.stops.append(Stop(spec.id, "user"))
    elif old is not None and old.needs_restart_for(spec):
        draft.stops.append(Restart(spec.id, spec, "config-changed", old.changed_fields(spec)))
    elif st.restart_requested:
        draft.stops.append(Restart(spec.id, spec, "user"))
    elif old is not None and old != spec:
        draft.others.append(Update(spec.id, spec, old.changed_fields(spec)))
    elif st.state == State.STARTING and st.started_at is not None:
        due = st.started_at + spec.start_secs
        if now >= due:
            draft.others.append(Promote(spec.id))
        else:
            draft.wakes.append(due)


def _start_for(spec: ProcessSpec, st: ProcessStatus, changed: bool, now: float,
               wakes: list[float]) -> Start | None:
    """Whether a process that is down (and not STOPPING) should be started now, and why."""
    if not st.wanted:
        return None
    retry_pending = st.state in (State.BACKOFF, State.EXITED) and st.retry_at is not None
    if changed and (st.state != State.EXITED or retry_pending
                    or (st.spec is not None and st.spec.needs_restart_for(spec))):
        return Start(spec.id, spec, "config-changed")
    if st.state == State.STOPPED:
        return Start(spec.id, spec, "new" if st.started_at is None else "user")
    if retry_pending and st.retry_at is not None:
        if now >= st.retry_at:
            reason = "backoff" if st.state == State.BACKOFF else "restart-policy"
            return Start(spec.id, spec, reason, counts_as_restart=True)
        wakes.append(st.retry_at)
    return None  # FATAL, or EXITED under a policy that does not restart


def _dependencies_ready(spec: ProcessSpec, observed: Mapping[str, ProcessStatus],
                        going_down: set[str]) -> bool:
    """RUNNING (and healthy when asked), and not about to be stopped or restarted: a
    dependent started against an instance that is on its way out would lose it at once."""
    for dep in spec.depends_on:
        st = observed.get(dep.process)
        if st is None or st.state != State.RUNNING or dep.process in going_down:
            return False
        if dep.condition == DependencyCondition.HEALTHY and st.health != "healthy":
            return False
    return True


def _dependents_first(stops: list[Stop | Restart], going_down: set[str],
                      desired: Mapping[str, ProcessSpec],
                      observed: Mapping[str, ProcessStatus]) -> list[Stop | Restart]:
    """Hold back the stop of a process while something that depends on it, and is going
    down too, is still up; the next plan, after that dependent exits, stops it. Should a
    dependency cycle hold back every stop with nothing on its way down, all go at once:
    a shutdown must never hang on a bad config."""
    def depends_on(dependent: str, dependency: str) -> bool:
        spec = desired.get(dependent)
        running = observed[dependent].spec if dependent in observed else None
        return any(d.process == dependency for s in (spec, running) if s is not None
                   for d in s.depends_on)

    ready = [a for a in stops
             if not any(depends_on(other, a.id) for other in going_down - {a.id})]
    stalled = not ready and going_down == {a.id for a in stops}
    return stops if stalled else ready
