"""dispatch() over scripted boards: who takes what, one task per agent, `after`, `--to`."""

from __future__ import annotations

from dataclasses import replace

from wezparallel.tasks.dispatch import AgentView, Assignment, dispatch
from wezparallel.tasks.model import Task, TaskStatus

NOW = 1000.0


def board(*tasks: Task) -> dict[str, Task]:
    return {t.id: t for t in tasks}


def todo(n: int, **kw: object) -> Task:
    fields: dict[str, object] = {"workspace": "ws", "created": float(n)}
    fields.update(kw)
    return Task(f"t{n}", f"task {n}", **fields)  # type: ignore[arg-type]


def agent(name: str, idle: bool = True, auto: bool = True, **kw: object) -> AgentView:
    return AgentView(f"ws:{name}", "ws", idle, auto, **kw)  # type: ignore[arg-type]


def test_two_idle_agents_take_the_two_highest_priority_tasks_one_each() -> None:
    tasks = board(todo(1), todo(2, priority=5), todo(3, priority=1))
    got = dispatch(tasks, [agent("a"), agent("b")], NOW)
    assert got == [Assignment("t2", "ws:a"), Assignment("t3", "ws:b")]


def test_equal_priority_goes_oldest_first() -> None:
    tasks = board(todo(3, created=1.0), todo(1, created=2.0), todo(2, created=3.0))
    assert dispatch(tasks, [agent("a")], NOW) == [Assignment("t3", "ws:a")]


def test_an_agent_with_a_task_in_doing_takes_nothing_more() -> None:
    tasks = board(todo(1, status=TaskStatus.DOING, agent="ws:a", session_id="s"), todo(2))
    assert dispatch(tasks, [agent("a")], NOW) == []
    assert dispatch(tasks, [agent("a"), agent("b")], NOW) == [Assignment("t2", "ws:b")]


def test_busy_waiting_or_manual_agents_take_nothing() -> None:
    tasks = board(todo(1))
    assert dispatch(tasks, [agent("a", idle=False)], NOW) == []
    assert dispatch(tasks, [agent("a", auto=False)], NOW) == []


def test_after_holds_a_task_until_those_are_done() -> None:
    first = todo(1, priority=0)
    second = todo(2, priority=9, after=("t1",))
    assert dispatch(board(first, second), [agent("a"), agent("b")], NOW) == [
        Assignment("t1", "ws:a")]
    for status in (TaskStatus.DOING, TaskStatus.REVIEW):
        held = board(replace(first, status=status, agent="ws:a"), second)
        assert dispatch(held, [agent("b")], NOW) == []
    done = board(replace(first, status=TaskStatus.DONE), second)
    assert dispatch(done, [agent("b")], NOW) == [Assignment("t2", "ws:b")]
    assert dispatch(board(todo(3, after=("t99",))), [agent("a")], NOW) == []  # unknown: wait


def test_a_task_addressed_to_an_agent_waits_for_it_even_without_auto() -> None:
    tasks = board(todo(1, to="ws:b", priority=9), todo(2))
    assert dispatch(tasks, [agent("a")], NOW) == [Assignment("t2", "ws:a")]
    assert dispatch(tasks, [agent("a", idle=False), agent("b", auto=False)], NOW) == [
        Assignment("t1", "ws:b")]


def test_other_workspaces_tasks_are_not_taken() -> None:
    tasks = board(todo(1, workspace="other"))
    assert dispatch(tasks, [agent("a")], NOW) == []


def test_a_task_is_sent_again_only_when_its_agent_lost_the_session() -> None:
    doing = todo(1, status=TaskStatus.DOING, agent="ws:a", session_id="s1")
    tasks = board(doing, todo(2))
    assert dispatch(tasks, [agent("a", session_id="s1")], NOW) == []  # resumed: keeps it
    assert dispatch(tasks, [agent("a", session_id="s2")], NOW) == [
        Assignment("t1", "ws:a", resend=True)]
    # not delivered yet (no session recorded): not while it is being typed...
    waiting = board(replace(doing, session_id=None))
    assert dispatch(waiting, [agent("a", session_id="s2", sending=True)], NOW) == []
    # ...but when nothing types it (the daemon stopped between handing over and typing)
    assert dispatch(waiting, [agent("a", session_id="s2")], NOW) == [
        Assignment("t1", "ws:a", resend=True)]


def test_a_scripted_history_never_puts_two_tasks_on_one_agent() -> None:
    """Apply each round's assignments, finish a task, repeat: every task is taken once."""
    tasks = board(*(todo(n, priority=n % 3) for n in range(1, 8)))
    agents = [agent("a"), agent("b")]
    seen: list[str] = []
    for step in range(20):
        for a in dispatch(tasks, agents, NOW + step):
            assert not any(t.agent == a.agent and t.status == TaskStatus.DOING
                           for t in tasks.values())
            tasks[a.task] = replace(tasks[a.task], status=TaskStatus.DOING, agent=a.agent,
                                    session_id="s")  # delivered
            seen.append(a.task)
        doing = sorted((t for t in tasks.values() if t.status == TaskStatus.DOING),
                       key=lambda t: t.id)
        if doing:  # the oldest one finishes
            tasks[doing[0].id] = replace(doing[0], status=TaskStatus.DONE)
    assert sorted(seen) == sorted(tasks) and len(seen) == len(set(seen))


def test_a_task_held_back_after_a_failed_delivery_waits_until_its_time() -> None:
    tasks = board(todo(1, not_before=NOW + 30))
    assert dispatch(tasks, [agent("a")], NOW) == []
    assert dispatch(tasks, [agent("a")], NOW + 30) == [Assignment("t1", "ws:a")]
