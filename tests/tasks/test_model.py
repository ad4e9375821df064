"""The task's own rules: moves a person may make, start/finish/release, ids, the prompt."""

from __future__ import annotations

import pytest

from wezparallel.tasks import model as m
from wezparallel.tasks.model import Task, TaskError, TaskStatus

S = TaskStatus


def test_review_goes_to_done_or_back_to_todo_with_a_note_that_leads_the_next_prompt() -> None:
    t = m.finish(m.start(Task("t1", "fix it", "fix the parser"), "ws:a", 10.0), 20.0, 5.0, 1.0)
    assert (t.status, t.finished, t.busy_seconds, t.waiting_seconds) == (S.REVIEW, 20.0, 5, 1)
    back = m.move(t, S.TODO, 30.0, note="also add a test")
    assert (back.status, back.agent, back.started, back.finished) == (S.TODO, None, None, None)
    assert back.prompt == "also add a test\n\nfix the parser"
    assert back.to == "ws:a"  # back to the agent whose branch has the work
    assert m.move(t, S.TODO, 30.0).to is None  # without a note: anyone
    assert m.move(t, S.DONE, 30.0).finished == 20.0


def test_doing_is_reached_only_through_an_agent() -> None:
    with pytest.raises(TaskError, match=r"t1 is todo: it can move to cancelled, done, "
                                        r"review, not doing \(assign it"):
        m.move(Task("t1", "x"), S.DOING, 1.0)
    with pytest.raises(TaskError, match="t1 is cancelled: it can move to todo, not done"):
        m.move(Task("t1", "x", status=S.CANCELLED), S.DONE, 1.0)


def test_release_keeps_the_reason_and_frees_the_agent() -> None:
    t = m.release(m.start(Task("t1", "x"), "ws:a", 10.0), 11.0, "ws:a ended")
    assert (t.status, t.agent, t.started, t.reason) == (S.TODO, None, None, "ws:a ended")
    assert t.not_before is None
    held = m.release(m.start(t, "ws:a", 12.0), 13.0, "not taken", hold=30.0)
    assert held.not_before == 43.0 and m.start(held, "ws:b", 50.0).not_before is None


def test_prompt_is_the_title_when_the_body_is_empty() -> None:
    assert Task("t1", "say hi").prompt == "say hi"
    assert Task("t1", "say hi", "  ").prompt == "say hi"


def test_ids_and_json_round_trip() -> None:
    assert m.parse_id("7") == m.parse_id("T7") == "t7"
    with pytest.raises(TaskError, match="'x7' is not a task id"):
        m.parse_id("x7")
    t = Task("t3", "x", after=("t1", "t2"), status=S.REVIEW, busy_seconds=2.5)
    assert Task.from_json(t.to_json()) == t
