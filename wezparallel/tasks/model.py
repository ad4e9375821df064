"""A task: a prompt written down once, handed to an agent, reviewed and merged.

Pure: no clock, no I/O. Times are wall-clock epoch seconds supplied by the caller, because they
are shown to people and survive restarts. Changes go through the functions here, so the rules
(what a person may move where, what an assignment sets) live in one place and are tested with
plain values.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from wezparallel.errors import PermanentError


class TaskStatus(enum.StrEnum):
    TODO = "todo"
    DOING = "doing"
    REVIEW = "review"
    DONE = "done"
    CANCELLED = "cancelled"


S = TaskStatus
STATUSES = tuple(s.value for s in TaskStatus)


class TaskError(PermanentError):
    """A task request that cannot be done as asked (unknown id, a move the rules forbid)."""


@dataclass(frozen=True)
class Task:
    id: str  # "t12": short, stable, never reused in one state dir
    title: str
    body: str = ""  # the prompt; the title alone when empty
    workspace: str | None = None
    status: TaskStatus = S.TODO
    agent: str | None = None  # the process id working (or that worked) on it
    to: str | None = None  # the agent it is addressed to (`--to`), waiting for that one
    priority: int = 0  # higher first
    after: tuple[str, ...] = ()  # ids of tasks that must be done first
    created: float = 0.0
    started: float | None = None
    finished: float | None = None
    busy_seconds: float = 0.0
    waiting_seconds: float = 0.0
    session_id: str | None = None  # the Claude Code session that received the prompt
    reason: str | None = None  # why it is stuck (a failed turn, an undelivered prompt)
    note: str | None = None  # a reviewer's note, sent as the next prompt when moved to todo
    branch: str | None = None  # the agent's worktree branch, when it has one
    base_commit: str | None = None  # that branch's commit when the task started
    head_commit: str | None = None  # and when it finished
    not_before: float | None = None  # not handed out again before (after a failed delivery)
    updated: float = field(default=0.0, compare=False)

    @property
    def prompt(self) -> str:
        """What the agent is sent: the body, else the title; a reviewer's note goes first."""
        text = self.body.strip() or self.title
        return f"{self.note}\n\n{text}" if self.note else text

    def to_json(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["status"] = self.status.value
        out["after"] = list(self.after)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Task:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["status"] = TaskStatus(known.get("status", "todo"))
        known["after"] = tuple(known.get("after") or ())
        return cls(**known)


def parse_id(text: str) -> str:
    """`t7` or `7` -> `t7`; a clear error for anything else."""
    raw = text.strip().lower().removeprefix("t")
    if not raw.isdigit():
        raise TaskError(f"{text!r} is not a task id (like t7)")
    return f"t{int(raw)}"


def ready(task: Task, tasks: Mapping[str, Task]) -> bool:
    """A todo task whose `after` tasks are all done (an unknown one counts as not done)."""
    return task.status == S.TODO and all(
        (t := tasks.get(a)) is not None and t.status == S.DONE for a in task.after)


# --- changes ---------------------------------------------------------------------------------

MOVES: Mapping[TaskStatus, frozenset[TaskStatus]] = {
    S.TODO: frozenset({S.REVIEW, S.DONE, S.CANCELLED}),
    S.DOING: frozenset({S.TODO, S.REVIEW, S.DONE, S.CANCELLED}),
    S.REVIEW: frozenset({S.TODO, S.DONE, S.CANCELLED}),
    S.DONE: frozenset({S.TODO, S.REVIEW}),
    S.CANCELLED: frozenset({S.TODO}),
}
"""What a person may move where. `doing` is reached only by handing the task to an agent."""


def move(task: Task, to: TaskStatus, now: float, note: str | None = None) -> Task:
    """A person's move. Back to todo frees the agent and, with `note`, makes the note the
    first words of the next prompt and addresses the task to the agent that worked on it (its
    branch and conversation have the work; `edit --anyone` lifts that); review and done keep
    (or set) `finished`."""
    if to == task.status:
        return task
    if to not in MOVES[task.status]:
        allowed = ", ".join(sorted(m.value for m in MOVES[task.status])) or "nothing"
        hint = " (assign it to an agent: wezparctl task assign)" if to == S.DOING else ""
        raise TaskError(f"{task.id} is {task.status.value}: it can move to {allowed}, "
                        f"not {to.value}{hint}")
    if to == S.TODO:
        return replace(task, status=to, agent=None, started=None, finished=None,
                       session_id=None, reason=None, note=note or None, updated=now,
                       to=task.agent if note and task.agent else task.to)
    finished = task.finished if task.finished is not None else (
        now if to in (S.REVIEW, S.DONE) and task.started is not None else None)
    return replace(task, status=to, finished=finished, updated=now)


def start(task: Task, agent: str, now: float, branch: str | None = None,
          base_commit: str | None = None) -> Task:
    """Handed to `agent`: doing, `started` now (its time counts from here)."""
    return replace(task, status=S.DOING, agent=agent, started=now, finished=None,
                   reason=None, session_id=None, busy_seconds=0.0, waiting_seconds=0.0,
                   branch=branch, base_commit=base_commit, head_commit=None, not_before=None,
                   updated=now)


def finish(task: Task, now: float, busy: float, waiting: float,
           head_commit: str | None = None) -> Task:
    """The turn that received it ended: review, with its time."""
    return replace(task, status=S.REVIEW, finished=now, busy_seconds=busy,
                   waiting_seconds=waiting, reason=None, note=None, head_commit=head_commit,
                   updated=now)


def release(task: Task, now: float, reason: str, hold: float = 0.0) -> Task:
    """Its agent is gone for good before finishing, or did not take the prompt: back to todo
    for another (or the same, later) agent, saying why; not handed out for `hold` seconds
    (a prompt that was not taken would otherwise be typed again at once, for ever)."""
    return replace(task, status=S.TODO, agent=None, started=None, session_id=None,
                   reason=reason, not_before=now + hold if hold > 0 else None, updated=now)
