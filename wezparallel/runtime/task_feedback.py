"""What agents do, fed back to the task board: hook events, activity and the process lifecycle.

- the agent's UserPromptSubmit tells which session received its task; the Stop of that session
  (not a subagent's, whose payload has `agent_id`) moves it to review with its time;
- a failed turn (activity `error`) leaves it in doing with the reason; an idle agent may take
  the next task (the board dispatches);
- an agent that ends for good (stopped, FATAL, exited with no restart to come) puts its task
  back in todo; one that will be restarted keeps it (its conversation is resumed).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from wezparallel.agents.activity import Activity, AgentActivity, Hook
from wezparallel.backends.base import Handle
from wezparallel.errors import WezparallelError
from wezparallel.plan.lifecycle import ExitInfo, State
from wezparallel.runtime.board import Board
from wezparallel.runtime.launch import Launch
from wezparallel.spec.model import ProcessSpec
from wezparallel.tasks import model as m
from wezparallel.tasks.model import Task

log = logging.getLogger(__name__)

class TaskFeedback:
    """A supervisor observer and a watcher of the agent tracker, for the board."""

    def __init__(self, board: Board) -> None:
        self.board = board
        board.agents.watchers.append(self._safely(self.on_activity))
        board.agents.hook_watchers.append(self._safely(self.on_hook))

    @staticmethod
    def _safely(watcher: Callable[..., None]) -> Callable[..., None]:
        """A board that cannot save (StateError) is logged; the hook's reply and the
        agent's activity must not fail with it."""
        def run(*args: Any) -> None:
            try:
                watcher(*args)
            except WezparallelError as exc:
                log.error("task board: %s", exc)
        return run

    def on_hook(self, pid: str, event: str, session_id: str | None, hook: Hook,
                when: float) -> None:
        """`when`: the event's time, earlier than now for one replayed from the hook spool."""
        task = self.board.doing(pid)
        if task is None or hook.get("agent_id"):
            return  # no task, or a subagent's event: its Stop is not the end of the turn
        if event == "UserPromptSubmit" and task.session_id is None and session_id:
            now = self.board.clock.wall()
            self.board.put(replace(task, session_id=session_id, updated=now), "delivered", task)
        elif event == "Stop" and task.session_id is not None \
                and session_id in (None, task.session_id):
            self._finish(task, when)

    def _finish(self, task: Task, now: float) -> None:
        assert task.agent is not None and task.started is not None
        busy, waiting = self.board.time_of(task.agent, task.started, now)
        done = self.board.checkout(m.finish(task, now, busy, waiting), "finish")
        self.board.put(done, "finished", task)

    def on_activity(self, pid: str, before: Activity | None, after: Activity) -> None:
        if after.current == AgentActivity.ERROR:
            task = self.board.doing(pid)
            if task is not None:
                reason = f"its turn failed: {after.reason or 'no reason given'}"
                now = self.board.clock.wall()
                self.board.put(replace(task, reason=reason, updated=now), "failed", task)
        elif after.current == AgentActivity.IDLE:
            self.board.poke()

    # --- the process lifecycle (a supervisor observer) --------------------------------------

    def process_up(self, spec: ProcessSpec, handle: Handle, launch: Launch | None) -> None:
        self.board.poke()

    def process_down(self, pid: str, exit: ExitInfo) -> None:
        self._safely(self._down)(pid)

    def _down(self, pid: str) -> None:
        task = self.board.doing(pid)
        st = self.board.supervisor.statuses.get(pid)
        if task is None or self.board.closing or st is None:
            return
        coming_back = st.wanted and st.state != State.FATAL and (
            st.retry_at is not None or st.restart_requested or st.state == State.BACKOFF)
        if not coming_back:
            reason = f"{pid} ended ({st.state.value}) before finishing it"
            self.board.put(m.release(task, self.board.clock.wall(), reason), "released", task)
