"""The tasks part of `wezparctl report`: per task and per agent, time spent and tasks finished
within a window. Pure: the board's tasks (doing ones with their time so far) in, rows out."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from wezparallel.tasks.model import Task, TaskStatus


def in_window(task: Task, start: float, end: float) -> bool:
    """Finished inside the window, or at work during it."""
    if task.finished is not None:
        return start <= task.finished <= end
    return task.status == TaskStatus.DOING and task.started is not None and task.started <= end


def build(tasks: Iterable[Task], start: float, end: float) -> dict[str, Any]:
    rows = [t for t in tasks if in_window(t, start, end) and t.agent is not None]
    per_agent: dict[str, dict[str, Any]] = {}
    for t in rows:
        assert t.agent is not None
        a = per_agent.setdefault(t.agent, {"id": t.agent, "finished": 0, "busy": 0.0,
                                           "waiting": 0.0})
        a["finished"] += t.finished is not None
        a["busy"] += t.busy_seconds
        a["waiting"] += t.waiting_seconds
    return {
        "tasks": [{"id": t.id, "title": t.title, "agent": t.agent, "status": t.status.value,
                   "busy": t.busy_seconds, "waiting": t.waiting_seconds,
                   "started": t.started, "finished": t.finished} for t in rows],
        "task_agents": [per_agent[k] for k in sorted(per_agent)],
    }
