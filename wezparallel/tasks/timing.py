"""Time per task, from the journal's activity events: pure, so it is the same after a restart.

A task's busy and waiting seconds are its agent's busy and waiting time between the task's start
and its finish (now, while it is in doing), folded exactly like `wezparctl report` folds them:
the `daemon` events go along, so a weekend the daemon was down is not counted as the agent's
last activity.
"""

from __future__ import annotations

from collections.abc import Iterable

from wezparallel.events.model import Event

LOOKBACK = 86400.0  # seconds of activity read before a start, to know where the agent stood


def busy_waiting(events: Iterable[Event], agent: str, start: float,
                 end: float) -> tuple[float, float]:
    """(busy, waiting) seconds of `agent` over [start, end]."""
    from wezparallel.events.report import build  # only once a task has time to show

    mine = (e for e in events if e.type == "daemon" or (e.type == "activity" and e.id == agent))
    report = build(mine, start, end)
    found = next((a for a in report.agents if a.id == agent), None)
    return (found.busy, found.waiting) if found is not None else (0.0, 0.0)
