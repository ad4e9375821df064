"""Which task goes to which agent now: a pure decision over the board and the agents.

One task per agent at a time, so the number of agents caps the work in progress. An agent takes
a task only when it is idle (hook-driven activity, so never mid-turn) and has no task in
`doing`. It takes the highest-priority ready task (`after` all done; oldest first among equals)
that is either addressed to it (`--to`, or `task assign`) or, in a workspace with
`dispatch: auto`, addressed to no one and of its workspace. A task addressed to an agent waits
for that agent however long it takes.

A task in `doing` is sent again (`resend`) when its agent came back with another session (its
conversation was lost), or when it was never delivered and nothing is typing it now (a daemon
stopped between handing it over and typing it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from wezparallel.tasks.model import Task, TaskStatus, ready


@dataclass(frozen=True)
class AgentView:
    """What dispatch needs to know of one agent."""

    id: str
    workspace: str
    idle: bool  # its activity is idle: ready for a prompt
    auto: bool  # its workspace has `dispatch: auto`
    session_id: str | None = None  # its current Claude Code session
    sending: bool = False  # a prompt is being typed into it right now


@dataclass(frozen=True)
class Assignment:
    task: str
    agent: str
    resend: bool = False  # the task is already the agent's; its session was lost


def dispatch(tasks: Mapping[str, Task], agents: Iterable[AgentView],
             now: float) -> list[Assignment]:
    """The assignments to make now; a task held back (`not_before`) waits until then."""
    out: list[Assignment] = []
    doing = {t.agent: t for t in tasks.values() if t.status == TaskStatus.DOING and t.agent}
    candidates = sorted((t for t in tasks.values() if ready(t, tasks)
                         and (t.not_before is None or t.not_before <= now)),
                        key=lambda t: (-t.priority, t.created, int(t.id[1:])))
    taken: set[str] = set()
    for agent in sorted(agents, key=lambda a: a.id):
        if not agent.idle:
            continue
        mine = doing.get(agent.id)
        if mine is not None:
            if _lost(mine, agent) or (mine.session_id is None and not agent.sending):
                out.append(Assignment(mine.id, agent.id, resend=True))
            continue
        task = next((t for t in candidates if t.id not in taken and _for(t, agent)), None)
        if task is not None:
            taken.add(task.id)
            out.append(Assignment(task.id, agent.id))
    return out


def _for(task: Task, agent: AgentView) -> bool:
    if task.to is not None:
        return task.to == agent.id
    return agent.auto and task.workspace == agent.workspace


def _lost(task: Task, agent: AgentView) -> bool:
    """The agent runs another session than the one that received the task."""
    return (task.session_id is not None and agent.session_id is not None
            and task.session_id != agent.session_id)
