"""One typed event model, and the pure diff that derives state and health events.

Events are never raised by the code paths that cause a change. The supervisor tells a
`StatusDiffer` which status it just touched; the differ compares it with the last one it saw
(the way kopf derives a diff) and drafts the events. So a new code path that moves a status
cannot forget its event, and the planner stays pure.

On the wire an event is one flat JSON object: `seq`, `time`, `type`, `id` and its type's fields.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from wezparallel.plan.lifecycle import UP_STATES, ProcessStatus, State

TYPES = ("state", "activity", "health", "config", "notice", "daemon", "task")
"""Event types a journal holds. A subscriber may also receive `lagged` (never journalled)."""

CRASH_TARGETS = frozenset({State.EXITED, State.BACKOFF, State.FATAL})


@dataclass(frozen=True)
class Draft:
    """An event before the bus numbers and times it."""

    type: str
    id: str | None
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    seq: int  # increasing per state dir, across daemon restarts
    time: float  # wall clock, epoch seconds
    type: str
    id: str | None  # the process id, or None for events about the daemon or the config
    fields: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "time": self.time, "type": self.type, "id": self.id,
                **self.fields}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Event:
        rest = {k: v for k, v in data.items() if k not in ("seq", "time", "type", "id")}
        return cls(int(data["seq"]), float(data["time"]), str(data["type"]), data.get("id"),
                   rest)


def state_drafts(pid: str, before: ProcessStatus | None,
                 after: ProcessStatus | None) -> list[Draft]:
    """The `state` events between two statuses of one process. A new instance always passes
    through STARTING, also when it was RUNNING at once (`start_secs: 0`): hooks on `starting`
    must see every start."""
    old = before.state if before is not None else State.STOPPED
    if after is None:
        return []
    new_instance = after.pid is not None and (before is None or before.pid != after.pid)
    if old == after.state and not new_instance:
        return []
    steps: list[tuple[State, State]] = []
    if new_instance and after.state == State.RUNNING and old != State.STARTING:
        steps.append((old, State.STARTING))
        old = State.STARTING
    if old != after.state:
        steps.append((old, after.state))
    return [Draft("state", pid, _state_fields(frm, to, after, before)) for frm, to in steps]


def _state_fields(frm: State, to: State, after: ProcessStatus,
                  before: ProcessStatus | None) -> dict[str, Any]:
    exit = after.last_exit
    exited = frm in UP_STATES | {State.STOPPING} and after.pid is None and exit is not None
    reason = after.error
    if reason is None and exited and exit is not None:
        reason = exit.describe()
    return {
        "from": frm.value, "to": to.value,
        "pid": after.pid if after.pid is not None else (before.pid if before else None),
        "exit_code": exit.code if exited and exit is not None and exit.known else None,
        "exit_signal": exit.signal if exited and exit is not None and exit.known else None,
        "reason": reason,
        "crashed": frm in UP_STATES and to in CRASH_TARGETS and exited,
    }


def health_drafts(pid: str, before: ProcessStatus | None, after: ProcessStatus | None,
                  reason: str | None) -> list[Draft]:
    old = before.health if before is not None else "unknown"
    if after is None or after.health == old:
        return []
    return [Draft("health", pid, {"from": old, "to": after.health, "reason": reason})]


class StatusDiffer:
    """Remembers the last status seen per process and drafts events for what changed."""

    def __init__(self, emit: Callable[[Draft], object],
                 health_reason: Callable[[str], str | None] = lambda pid: None) -> None:
        self._emit = emit
        self._health_reason = health_reason
        self._seen: dict[str, ProcessStatus] = {}

    def prime(self, pid: str, status: ProcessStatus) -> None:
        """Know `status` without an event: a process adopted from an earlier daemon, whose
        journal already told how it got there."""
        self._seen[pid] = status

    def check(self, pid: str, after: ProcessStatus | None) -> None:
        before = self._seen.get(pid)
        if before is after:
            return
        if after is None:
            self._seen.pop(pid, None)
        else:
            self._seen[pid] = after
        for draft in state_drafts(pid, before, after):
            self._emit(draft)
        if after is not None and (before is None or before.health != after.health):
            for draft in health_drafts(pid, before, after, self._health_reason(pid)):
                self._emit(draft)


def hook_names(event: Event) -> list[str]:
    """The `on:` names an event fires: `fatal`, `crashed`, `waiting`, `unhealthy`..."""
    kind, to = event.type, event.fields.get("to")
    if not isinstance(to, str):
        return []
    if kind == "state":
        return [to.lower(), *(["crashed"] if event.fields.get("crashed") else [])]
    if kind == "activity" and to in ("busy", "waiting", "idle"):
        return [to]
    if kind == "health" and to in ("healthy", "unhealthy"):
        return [to]
    return []


HOOK_EVENTS = ("starting", "running", "backoff", "stopping", "exited", "fatal", "stopped",
               "busy", "waiting", "idle", "healthy", "unhealthy", "crashed")
"""Every name `on:` accepts; the schema lists the same."""


def id_matches(pid: str, pattern: str) -> bool:
    """`ws:name`, `ws:*`, `ws` (all of a workspace) or `all`, as everywhere in wezparctl."""
    if pattern == "all":
        return True
    if ":" not in pattern:
        pattern = f"{pattern}:*"
    return fnmatch.fnmatchcase(pid, pattern)


@dataclass(frozen=True)
class Filter:
    """Which events a reader wants: any of `types` (all when empty) about a process matching
    any of `patterns` (all, including daemon and config events, when empty)."""

    types: frozenset[str] = frozenset()
    patterns: tuple[str, ...] = ()

    def __call__(self, event: Event) -> bool:
        if self.types and event.type not in self.types:
            return False
        if not self.patterns:
            return True
        return event.id is not None and any(id_matches(event.id, p) for p in self.patterns)
