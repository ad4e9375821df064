"""Time tracking from the journal: uptime, restarts and crashes per process, and what each
agent spent its time on. Pure: events and a window in, figures out.

Each process's time is folded from its `state` events: the state it was in when the window
opens (its last event before it), then each change. A process first seen inside the window is
counted from its first event, so a new one does not look down for the time before it existed.
Agents are folded the same way from `activity` events.

While the daemon is down nothing is journalled, so the last state would otherwise run on over
a whole weekend. Each `daemon started` event ends a downtime: from `previous_seen` (the last
moment the old daemon was seen: its last journalled event or its last `status.json` heartbeat,
so a SIGKILLed daemon, which journals no stop, is bounded within one heartbeat of its death;
a clean stop writes the status file last) or, in a journal older than that field, from the
last event read, to the start. That span is counted as `daemon_down`, not as anyone's
state, and a process's `observed` time excludes it. After the start each id resumes the state
it had: an adopted process or a restored agent sends no event for being where it was.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from wezparallel.events.model import Event

AGENT_ACTIVITIES = ("busy", "waiting", "idle")
DOWN = "(daemon down)"  # a track's value while the daemon was down; never a real state
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

    def pause(self, gone: float, back: float, start: float) -> None:
        """The daemon was down over [gone, back]: that is DOWN time, then the value resumes."""
        if self.current is None:
            return
        resume = self.current
        self.move(DOWN, None, gone, start)
        self.move(resume, None, back, start)

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
    daemon_down: float = 0.0  # seconds of the window without a daemon, in no figure above

    def to_json(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "daemon_down": self.daemon_down,
                "processes": [p.to_json() for p in self.processes],
                "agents": [a.to_json() for a in self.agents]}


def build(events: Iterable[Event], start: float, end: float) -> Report:
    """Fold `events` (in seq order, from before `start` too) over the window [start, end]."""
    states: dict[str, _Track] = {}
    activities: dict[str, _Track] = {}
    counts: dict[str, list[int]] = {}  # id -> [restarts, crashes]
    started: set[str] = set()
    last: float | None = None  # the time of the last event read
    down = 0.0
    for e in events:
        if e.time > end:
            continue
        if e.type == "daemon" and e.fields.get("what") == "started":
            down += _downtime(e, last, (*states.values(), *activities.values()), start, end)
        last = e.time
        if e.id is None:
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
    return Report(start, end, processes, agents, down)


def _downtime(started: Event, last: float | None, tracks: Iterable[_Track], start: float,
              end: float) -> float:
    """Pause every track over the downtime `started` ends; its seconds inside the window.

    It runs from `previous_seen`, never before the last event read (a filtered stream only
    bounds it from below) nor after the start; without `previous_seen` (a journal written
    before it existed) from the last event read; with neither (the first start) there is none.
    """
    seen = started.fields.get("previous_seen")
    if isinstance(seen, (int, float)) and not isinstance(seen, bool):
        gone = min(float(seen), started.time) if last is None \
            else max(last, min(float(seen), started.time))
    elif last is not None:
        gone = last
    else:
        return 0.0
    for track in tracks:
        track.pause(gone, started.time, start)
    return max(0.0, min(started.time, end) - max(gone, start))


def _process(pid: str, track: _Track, counts: list[int], end: float) -> ProcessReport:
    track.close(end)
    observed = end - (track.first_seen if track.first_seen is not None else end) \
        - track.spent.get(DOWN, 0.0)
    running = track.spent.get("RUNNING", 0.0)
    restarts, crashes = counts
    return ProcessReport(
        pid, observed, 100.0 * running / observed if observed > 0 else None, restarts, crashes,
        track.spent.get("BACKOFF", 0.0), track.spent.get("FATAL", 0.0),
        running / crashes if crashes else None)


def _agent(pid: str, track: _Track, end: float) -> AgentReport:
    track.close(end)
    return AgentReport(pid, *(track.spent.get(a, 0.0) for a in AGENT_ACTIVITIES))
