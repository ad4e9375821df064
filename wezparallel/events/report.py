"""Time tracking from the journal: uptime, restarts and crashes per process, and what each
agent spent its time on. Pure: events and a window in, figures out.

Each process's time is folded from its `state` events: the state it was in when the window
opens (its last event before it), then each change. A process first seen inside the window is
counted from its first event, so a new one does not look down for the time before it existed.
Agents are folded the same way from `activity` events.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from wezparallel.events.model import Event

AGENT_ACTIVITIES = ("busy", "waiting", "idle")
DEFAULT_WINDOW = 86400.0  # seconds: `wezparctl report` covers the last day unless told


@dataclass
class _Track:
    """One id's running fold: where it is now, since when, and the time spent per value."""

    current: str | None = None
    since: float = 0.0
    first_seen: float | None = None
    spent: dict[str, float] = field(default_factory=dict)

    def move(self, to: str, frm: str | None, t: float, start: float) -> None:
        at = max(t, start)
        if self.current is None:
            self.current = frm
            self.since = at
            self.first_seen = at if t >= start else start
        if self.current is not None and t >= start:
            self.spent[self.current] = self.spent.get(self.current, 0.0) + at - self.since
        self.current, self.since = to, at

    def close(self, end: float) -> None:
        if self.current is not None:
            self.spent[self.current] = self.spent.get(self.current, 0.0) + end - self.since
            self.since = end


@dataclass(frozen=True)
class ProcessReport:
    id: str
    observed: float  # seconds of the window this process was known
    uptime_percent: float | None  # RUNNING share of `observed`
    restarts: int  # starts after it had already run (by policy, backoff, user or reload)
    crashes: int  # exits the daemon did not ask for
    backoff: float  # seconds in BACKOFF
    fatal: float  # seconds in FATAL
    mean_time_between_crashes: float | None  # seconds RUNNING per crash; None without one

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class AgentReport:
    id: str
    busy: float
    waiting: float  # for its user: a permission prompt or a question
    idle: float

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Report:
    start: float
    end: float
    processes: tuple[ProcessReport, ...]
    agents: tuple[AgentReport, ...]

    def to_json(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end,
                "processes": [p.to_json() for p in self.processes],
                "agents": [a.to_json() for a in self.agents]}


def build(events: Iterable[Event], start: float, end: float) -> Report:
    """Fold `events` (in seq order, from before `start` too) over the window [start, end]."""
    states: dict[str, _Track] = {}
    activities: dict[str, _Track] = {}
    counts: dict[str, list[int]] = {}  # id -> [restarts, crashes]
    started: set[str] = set()
    for e in events:
        if e.id is None or e.time > end:
            continue
        to, frm = e.fields.get("to"), e.fields.get("from")
        if e.type == "state" and isinstance(to, str):
            states.setdefault(e.id, _Track()).move(to, frm, e.time, start)
            n = counts.setdefault(e.id, [0, 0])
            if to == "STARTING":
                if e.id in started and e.time >= start:
                    n[0] += 1
                started.add(e.id)
            if e.fields.get("crashed") and e.time >= start:
                n[1] += 1
        elif e.type == "activity" and isinstance(to, str):
            activities.setdefault(e.id, _Track()).move(to, frm, e.time, start)
    processes = tuple(_process(pid, track, counts[pid], end)
                      for pid, track in sorted(states.items()))
    agents = tuple(_agent(pid, track, end) for pid, track in sorted(activities.items()))
    return Report(start, end, processes, agents)


def _process(pid: str, track: _Track, counts: list[int], end: float) -> ProcessReport:
    track.close(end)
    observed = end - (track.first_seen if track.first_seen is not None else end)
    running = track.spent.get("RUNNING", 0.0)
    restarts, crashes = counts
    return ProcessReport(
        pid, observed, 100.0 * running / observed if observed > 0 else None, restarts, crashes,
        track.spent.get("BACKOFF", 0.0), track.spent.get("FATAL", 0.0),
        running / crashes if crashes else None)


def _agent(pid: str, track: _Track, end: float) -> AgentReport:
    track.close(end)
    return AgentReport(pid, *(track.spent.get(a, 0.0) for a in AGENT_ACTIVITIES))
