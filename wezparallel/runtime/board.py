"""The task board at work: keeps the tasks, takes people's changes and applies `dispatch`.

Every change is saved (`TaskStore`) and published as a `task` event before anything else
happens, so the journal, `subscribe` clients and the dashboard see each move, and a daemon
killed at any moment comes back with the board it had.

How a task travels:
- `dispatch` (pure) says which idle agent takes which task; the task becomes `doing` at once
  (so a Stop can never arrive before we are ready for it) and its prompt goes through the same
  `PromptSender` as `wezparctl send`. A prompt the agent did not take puts the task back in todo
  with the reason.
- what the agent then does comes back through `runtime.task_feedback` (its Stop finishes the
  task, a failed turn or an exit is noted);
- an agent that comes back with another session (its conversation lost) is sent the task
  again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from wezparallel.agents.activity import AgentActivity
from wezparallel.backends.base import Handle
from wezparallel.clock import Clock
from wezparallel.errors import WezparallelError
from wezparallel.events.bus import EventBus
from wezparallel.events.model import Event
from wezparallel.runtime.agents import AgentTracker
from wezparallel.runtime.prompts import PromptInput, PromptSender, Target
from wezparallel.runtime.supervisor import Supervisor
from wezparallel.spec.model import ProcessSpec, WorkspaceSpec
from wezparallel.tasks import model as m
from wezparallel.tasks.dispatch import AgentView, Assignment, dispatch
from wezparallel.tasks.model import Task, TaskError, TaskStatus
from wezparallel.tasks.store import TaskStore
from wezparallel.tasks.timing import LOOKBACK, busy_waiting

log = logging.getLogger(__name__)
S = TaskStatus
HOLD_UNDELIVERED = 30.0  # seconds a task whose prompt was not taken waits before another try


class Board:
    def __init__(self, store: TaskStore, bus: EventBus, clock: Clock, agents: AgentTracker,
                 supervisor: Supervisor, sender: PromptSender,
                 workspaces: Callable[[], Mapping[str, WorkspaceSpec]]) -> None:
        self.store = store
        self.bus = bus
        self.clock = clock
        self.agents = agents
        self.supervisor = supervisor
        self.sender = sender
        self.workspaces = workspaces  # by name, as the config has them now
        self.tasks: dict[str, Task] = store.load()
        self._sends: dict[asyncio.Task[None], str] = {}  # prompts being typed -> agent
        self._poked = False
        self.closing = False

    # --- reading ----------------------------------------------------------------------------

    def get(self, tid: str) -> Task:
        task = self.tasks.get(m.parse_id(tid))
        if task is None:
            raise TaskError(f"no task {m.parse_id(tid)}")
        return task

    def listed(self, status: str | None = None, workspace: str | None = None) -> list[Task]:
        tasks = [t for t in self.tasks.values()
                 if (status is None or t.status == status)
                 and (workspace is None or t.workspace == workspace)]
        return self._with_time(tasks)

    def live(self, task: Task) -> Task:
        """A doing task with its time so far."""
        return self._with_time([task])[0]

    def _with_time(self, tasks: list[Task]) -> list[Task]:
        """Doing tasks get their time so far, from one read of the journal for them all."""
        doing = [t for t in tasks if t.status == S.DOING and t.agent and t.started]
        if not doing:
            return tasks
        now = self.clock.wall()
        events = self._activity_since(min(t.started or now for t in doing))
        ids = {t.id for t in doing}
        out = []
        for t in tasks:
            if t.id in ids:
                assert t.agent is not None and t.started is not None
                busy, waiting = busy_waiting(events, t.agent, t.started, now)
                t = replace(t, busy_seconds=busy, waiting_seconds=waiting)
            out.append(t)
        return out

    def time_of(self, agent: str, start: float, end: float) -> tuple[float, float]:
        return busy_waiting(self._activity_since(start), agent, start, end)

    def _activity_since(self, start: float) -> list[Event]:
        self.bus.flush()  # what this loop iteration published is not in the journal yet
        journal = self.bus.journal
        if journal is None:
            return []
        return list(journal.read(types=("activity", "daemon"), since_time=start - LOOKBACK))

    # --- a person's changes -----------------------------------------------------------------

    def add(self, title: str, body: str = "", workspace: str | None = None,
            to: str | None = None, after: tuple[str, ...] = (), priority: int = 0,
            placed: bool = True) -> Task:
        """`placed` False: a task whose workspace is not clear gets none (it then reaches an
        agent only through `task assign`) instead of being refused."""
        if not title.strip():
            raise TaskError("a task needs a title")
        after = tuple(self.get(a).id for a in after)
        if placed or workspace is not None or to is not None or len(self.workspaces()) == 1:
            workspace = self._workspace_for(workspace, to)
        now = self.clock.wall()
        task = Task(self.store.next_id(), title.strip(), body, workspace, to=to,
                    priority=priority, after=after, created=now, updated=now)
        self.put(task, "added")
        return task

    def move(self, tid: str, status: str, note: str | None = None) -> Task:
        try:
            to = TaskStatus(status)
        except ValueError:
            raise TaskError(f"{status!r} is not a status ({', '.join(m.STATUSES)})") from None
        task = self.get(tid)
        self.put(m.move(task, to, self.clock.wall(), note), "moved", task)
        return self.tasks[task.id]

    def cancel(self, tid: str) -> Task:
        return self.move(tid, S.CANCELLED.value)

    def assign(self, tid: str, agent: str) -> Task:
        """Address the task to `agent`: it is sent as soon as that agent is idle and free."""
        task = self.get(tid)
        self._agent_spec(agent)
        if task.status == S.DOING:
            raise TaskError(f"{task.id} is already in doing on {task.agent}; move it to todo "
                            "first")
        if task.status != S.TODO:
            raise TaskError(f"{task.id} is {task.status.value}; only a todo task can be "
                            "assigned (move it to todo first)")
        self.put(replace(task, to=agent, updated=self.clock.wall()), "assigned", task)
        return self.tasks[task.id]

    def edit(self, tid: str, changes: Mapping[str, Any]) -> Task:
        task = self.get(tid)
        fields = dict(changes)
        if "after" in fields:
            fields["after"] = tuple(self.get(a).id for a in fields["after"])
        if "to" in fields and fields["to"] is not None:
            self._agent_spec(fields["to"])
        if "workspace" in fields:
            self._workspace_for(fields["workspace"], None)
        if "title" in fields and not str(fields["title"]).strip():
            raise TaskError("a task needs a title")
        self.put(replace(task, **fields, updated=self.clock.wall()), "edited", task)
        return self.tasks[task.id]

    def _workspace_for(self, workspace: str | None, to: str | None) -> str:
        names = self.workspaces()
        if to is not None:
            spec = self._agent_spec(to)
            if workspace is not None and workspace != spec.workspace:
                raise TaskError(f"{to} is in workspace {spec.workspace}, not {workspace}")
            return spec.workspace
        if workspace is not None:
            if workspace not in names:
                raise TaskError(f"no workspace {workspace!r} (known: "
                                f"{', '.join(sorted(names)) or 'none'})")
            return workspace
        if len(names) == 1:
            return next(iter(names))
        raise TaskError("which workspace is it for? give --workspace WS or --to AGENT "
                        f"(workspaces: {', '.join(sorted(names)) or 'none'})")

    def _agent_spec(self, pid: str) -> ProcessSpec:
        spec = self.supervisor.desired.get(pid)
        if spec is None or spec.claude is None:
            raise TaskError(f"{pid} is not a claude agent of the config in force")
        return spec

    def put(self, task: Task, change: str, before: Task | None = None) -> None:
        """Save, publish, and look for work to hand out."""
        self.store.save(task)
        self.tasks[task.id] = task
        fields = {"change": change, "task": task.to_json(),
                  "from": before.status.value if before else None, "to": task.status.value}
        self.bus.publish("task", task.agent or task.to, fields)
        self.poke()

    # --- dispatch ---------------------------------------------------------------------------

    def poke(self) -> None:
        """Dispatch once the current loop iteration is done (many changes, one decision)."""
        if self._poked or self.closing:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._poked = True
        loop.call_soon(self.dispatch_now)

    def dispatch_now(self) -> None:
        self._poked = False
        if self.closing:
            return
        try:
            for a in dispatch(self.tasks, self._views(), self.clock.wall()):
                self._hand_over(a)
        except WezparallelError as exc:  # the store cannot save: nothing is handed over
            log.error("task board: %s", exc)

    def _views(self) -> list[AgentView]:
        modes = {name: ws.dispatch == "auto" for name, ws in self.workspaces().items()}
        out = []
        for pid, spec in self.supervisor.desired.items():
            act = self.agents.get(pid)
            # only agents whose hooks report to us: their Stop is what finishes a task
            if spec.claude is None or act is None or pid not in self.supervisor.handles \
                    or not self.agents.tracks(pid):
                continue
            out.append(AgentView(pid, spec.workspace, act.current == AgentActivity.IDLE,
                                 modes.get(spec.workspace, False), self.agents.sessions.get(pid),
                                 pid in self._sends.values()))
        return out

    def _hand_over(self, a: Assignment) -> None:
        task = self.tasks[a.task]
        now = self.clock.wall()
        if a.resend:
            started = replace(task, session_id=None, reason=None, updated=now)
            self.put(started, "resent", task)
        else:
            started = self.checkout(m.start(task, a.agent, now), "start")
            self.put(started, "started", task)
        send = asyncio.get_running_loop().create_task(self._send(started),
                                                      name=f"task {task.id}")
        self._sends[send] = a.agent
        send.add_done_callback(self._sent)

    def _sent(self, send: asyncio.Task[None]) -> None:
        self._sends.pop(send, None)
        self.poke()  # a send that ended without delivering may be due again

    async def _send(self, task: Task) -> None:
        assert task.agent is not None
        target = self._target(task.agent)
        if target is None:
            self._undelivered(task.id, f"{task.agent} has no pane to type the task into")
            return
        try:
            (outcome,) = await self.sender.send([target], task.prompt, True)
        except Exception as exc:  # a backend failing to type: the task must not stay doing
            log.exception("%s: sending %s failed", task.agent, task.id)
            self._undelivered(task.id, f"sending it to {task.agent} failed: {exc}")
            return
        if outcome.submitted is False:
            self._undelivered(task.id, f"{task.agent} did not take the prompt: {outcome.note}")

    def _target(self, pid: str) -> Target | None:
        handle: Handle | None = self.supervisor.handles.get(pid)
        backend = self.supervisor.backend_of(pid)
        if handle is None or backend is None or not hasattr(backend, "paste"):
            return None
        typing: PromptInput = backend  # type: ignore[assignment]
        return Target(handle, typing, True)

    def _undelivered(self, tid: str, reason: str) -> None:
        task = self.tasks[tid]
        if task.status != S.DOING:
            return
        log.warning("%s: %s; handed out again in %gs at the earliest", tid, reason,
                    HOLD_UNDELIVERED)
        try:
            self.put(m.release(task, self.clock.wall(), reason, HOLD_UNDELIVERED),
                     "undelivered", task)
        except WezparallelError as exc:
            log.error("task board: %s", exc)
            return
        asyncio.get_running_loop().call_later(HOLD_UNDELIVERED, self.poke)

    def checkout(self, task: Task, when: str) -> Task:
        """The branch and commit of the agent's worktree (a local `git rev-parse`, quick
        enough for the loop), recorded at the start and at the finish for review."""
        spec = self.supervisor.desired.get(task.agent or "")
        if spec is None or spec.worktree is None:
            return task
        from wezparallel.agents.review import agent_checkout  # git, for worktree agents only

        try:
            co = agent_checkout(spec)
        except WezparallelError as exc:
            log.warning("%s: cannot read its worktree's branch: %s", task.id, exc)
            return task
        if co is None:
            return task
        if when == "start":
            return replace(task, branch=co.branch, base_commit=co.commit)
        return replace(task, head_commit=co.commit)

    def doing(self, pid: str) -> Task | None:
        """The task `pid` is at work on: at most one."""
        return next((t for t in self.tasks.values()
                     if t.status == S.DOING and t.agent == pid), None)

    async def close(self) -> None:
        """Stop dispatching (the shutdown's stops must not release tasks) and end sends; the
        store stays open for what still arrives until `close_store`."""
        self.closing = True
        for send in list(self._sends):
            send.cancel()
        if self._sends:
            await asyncio.wait(self._sends, timeout=2.0)

    def close_store(self) -> None:
        self.store.close()
