"""The board fed by an agent's hooks and lifecycle, with a fake clock: which Stop finishes a
task, what its time is, and which exits give it back. Real tracker, journal and store."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from wezparallel.backends.base import Handle
from wezparallel.clock import FakeClock
from wezparallel.events.bus import EventBus
from wezparallel.events.journal import Journal
from wezparallel.plan.lifecycle import ExitInfo, ProcessStatus, State
from wezparallel.runtime.agents import AgentTracker
from wezparallel.runtime.board import Board
from wezparallel.runtime.launch import Launch
from wezparallel.runtime.prompts import PromptSender
from wezparallel.runtime.supervisor import Supervisor
from wezparallel.runtime.task_feedback import TaskFeedback
from wezparallel.spec.model import ClaudeSpec, ProcessSpec
from wezparallel.tasks import model as m
from wezparallel.tasks.store import TaskStore

SPEC = ProcessSpec("ws", "a", claude=ClaudeSpec(binary="claude"))
PID = "ws:a"


class Rig:
    def __init__(self, tmp: Path) -> None:
        self.clock = FakeClock()
        self.tracker = AgentTracker(self.clock)
        self.bus = EventBus(self.clock, Journal(tmp / "events.sqlite"))
        self.tracker.watchers.append(
            lambda pid, before, after: self.bus.publish(
                "activity", pid, {"from": before.current.value if before else None,
                                  "to": after.current.value}))
        self.sup = Supervisor(lambda spec: None, self.clock, tmp)  # type: ignore[arg-type,return-value]
        self.sup.desired = {PID: SPEC}
        self.board = Board(TaskStore(tmp / "tasks.sqlite"), self.bus, self.clock, self.tracker,
                           self.sup, PromptSender(self.tracker), lambda: {})
        self.feedback = TaskFeedback(self.board)
        self.tracker.process_up(SPEC, Handle(PID, 42, "memory"),
                                Launch(("claude",), SPEC, agent=True, reports_activity=True))
        self.hook("SessionStart", "s1")

    def hook(self, event: str, session: str, **payload: object) -> None:
        self.tracker.on_event(PID, event, session, payload)

    def handed_over(self) -> str:
        task = m.start(m.Task(self.board.store.next_id(), "t"), PID, self.clock.wall())
        self.board.put(task, "started")
        return task.id


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    return Rig(tmp_path)


def test_only_the_receiving_sessions_own_stop_finishes_with_the_turns_time(rig: Rig) -> None:
    tid = rig.handed_over()
    rig.clock.advance(1)
    rig.hook("UserPromptSubmit", "s1")
    assert rig.board.tasks[tid].session_id == "s1"
    rig.clock.advance(4)
    rig.hook("Notification", "s1", notification_type="permission_prompt")
    rig.clock.advance(2)
    rig.hook("PostToolUse", "s1")
    rig.hook("Stop", "s1", agent_id="sub1")  # a subagent's
    assert rig.board.tasks[tid].status == m.TaskStatus.DOING
    rig.clock.advance(3)
    rig.hook("Stop", "s2")  # another session's (a late hook of an earlier one)
    assert rig.board.tasks[tid].status == m.TaskStatus.DOING
    rig.hook("Stop", "s1")
    done = rig.board.tasks[tid]
    assert done.status == m.TaskStatus.REVIEW
    assert (done.busy_seconds, done.waiting_seconds) == (7.0, 2.0)
    assert done.finished == rig.clock.wall()
    assert rig.board.store.load()[tid] == done  # on disk as it is in memory


def test_a_stop_replayed_from_the_hook_spool_finishes_at_its_own_time(rig: Rig) -> None:
    tid = rig.handed_over()
    started = rig.clock.wall()
    rig.hook("UserPromptSubmit", "s1")
    rig.clock.advance(60)  # the turn ended 6 s in, while the daemon was down; replayed now
    rig.tracker.on_event(PID, "Stop", "s1", {}, at=started + 6)
    done = rig.board.tasks[tid]
    assert done.status == m.TaskStatus.REVIEW
    assert (done.finished, done.busy_seconds, done.waiting_seconds) == (started + 6, 6.0, 0.0)


def test_a_failed_turn_keeps_it_in_doing_with_the_reason(rig: Rig) -> None:
    tid = rig.handed_over()
    rig.hook("UserPromptSubmit", "s1")
    rig.hook("StopFailure", "s1", error="rate_limit", last_assistant_message="API Error: 429")
    task = rig.board.tasks[tid]
    assert task.status == m.TaskStatus.DOING and task.reason is not None
    assert task.reason.startswith("its turn failed: ") and "429" in task.reason


@pytest.mark.parametrize(("state", "wanted", "kept"), [
    (State.BACKOFF, True, True),  # a crash the restart policy will answer: it comes back
    (State.STOPPED, False, False),  # a person stopped it
    (State.FATAL, True, False),  # it gave up
    (State.EXITED, True, False),  # ended and no restart to come
])
def test_an_exit_gives_the_task_back_unless_the_agent_comes_back(
        rig: Rig, state: State, wanted: bool, kept: bool) -> None:
    tid = rig.handed_over()
    rig.hook("UserPromptSubmit", "s1")
    st = ProcessStatus(id=PID, state=state, wanted=wanted, spec=SPEC)
    rig.sup.statuses[PID] = replace(st, retry_at=1.0) if state == State.BACKOFF else st
    rig.feedback.process_down(PID, ExitInfo(code=1))
    task = rig.board.tasks[tid]
    assert (task.status == m.TaskStatus.DOING) == kept
    if not kept:
        assert task.agent is None and task.reason == \
            f"ws:a ended ({state.value}) before finishing it"
