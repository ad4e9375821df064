"""`AgentTracker` with a fake clock: lifecycle and hook events in, activity and waits out."""

from __future__ import annotations

import asyncio

from wezparallel.agents.activity import AgentActivity
from wezparallel.backends.base import Handle
from wezparallel.clock import FakeClock
from wezparallel.plan.lifecycle import ExitInfo
from wezparallel.runtime.agents import AgentTracker
from wezparallel.runtime.launch import Launch
from wezparallel.spec.model import ClaudeSpec, ProcessSpec

A = AgentActivity
SPEC = ProcessSpec("ws", "agent", claude=ClaudeSpec(binary="claude", prompt="go"))
HANDLE = Handle("ws:agent", 4242, "memory")


def launch(*, hooks: bool = True, prompt: bool = False) -> Launch:
    return Launch(("claude",), SPEC, agent=True, reports_activity=hooks,
                  expects_prompt=prompt)


def test_a_session_moves_through_activities_with_times() -> None:
    clock = FakeClock()
    tracker = AgentTracker(clock)
    tracker.process_up(SPEC, HANDLE, launch())
    start = clock.wall()
    clock.advance(1)
    tracker.on_event("ws:agent", "SessionStart", "s1")
    clock.advance(2)
    tracker.on_event("ws:agent", "UserPromptSubmit", "s1")
    tracker.on_event("ws:agent", "PreToolUse", "s1")  # still busy: since is kept
    clock.advance(3)
    tracker.on_event("ws:agent", "Notification", "s1")
    clock.advance(4)
    tracker.on_event("ws:agent", "Stop", "s1")
    clock.advance(5)
    tracker.process_down("ws:agent", ExitInfo(code=0))
    act = tracker.get("ws:agent")
    assert act is not None and act.current == A.EXITED
    assert [(c.activity, c.since - start) for c in act.history] == [
        (A.STARTING, 0), (A.IDLE, 1), (A.BUSY, 3), (A.WAITING, 6), (A.IDLE, 10), (A.EXITED, 15)]
    assert tracker.sessions["ws:agent"] == "s1"


def test_a_first_prompt_keeps_starting_until_the_turn_begins() -> None:
    tracker = AgentTracker(FakeClock())
    tracker.process_up(SPEC, HANDLE, launch(prompt=True))
    act = tracker.on_event("ws:agent", "SessionStart")
    assert act is not None and act.current == A.STARTING  # not a false idle


def test_a_restart_starts_over_and_unknown_agents_are_ignored() -> None:
    tracker = AgentTracker(FakeClock())
    assert tracker.on_event("ws:agent", "Stop") is None
    tracker.process_up(SPEC, HANDLE, launch())
    tracker.on_event("ws:agent", "Stop")
    tracker.process_down("ws:agent", ExitInfo(code=1))
    tracker.process_up(SPEC, Handle("ws:agent", 4243, "memory"), launch())
    act = tracker.get("ws:agent")
    assert act is not None and act.current == A.STARTING and len(act.history) == 1


def test_agents_without_hooks_have_no_activity() -> None:
    tracker = AgentTracker(FakeClock())
    tracker.process_up(SPEC, HANDLE, launch())
    tracker.process_up(SPEC, HANDLE, launch(hooks=False))  # config changed: hooks turned off
    assert tracker.get("ws:agent") is None
    assert tracker.on_event("ws:agent", "Stop") is None
    plain = ProcessSpec("ws", "api", command=("x",))
    tracker.process_up(plain, Handle("ws:api", 1, "memory"), Launch(("x",), plain))
    assert tracker.get("ws:api") is None


def test_an_adopted_agent_is_tracked_from_starting() -> None:
    tracker = AgentTracker(FakeClock())
    tracker.process_up(SPEC, HANDLE, None)
    act = tracker.get("ws:agent")
    assert act is not None and act.current == A.STARTING


def test_the_prompt_is_reported_with_its_session_for_resume() -> None:
    seen: list[tuple[str, str | None]] = []
    tracker = AgentTracker(FakeClock(), lambda pid, session: seen.append((pid, session)))
    tracker.process_up(SPEC, HANDLE, launch())
    tracker.on_event("ws:agent", "SessionStart", "s1")
    assert seen == []
    tracker.on_event("ws:agent", "UserPromptSubmit", "s1")
    assert seen == [("ws:agent", "s1")]


def test_a_failed_turn_is_an_error_with_a_problem_until_a_turn_succeeds() -> None:
    saves: list[int] = []
    tracker = AgentTracker(FakeClock(), on_change=lambda: saves.append(1))
    tracker.process_up(SPEC, HANDLE, launch())
    tracker.on_event("ws:agent", "UserPromptSubmit", "s1")
    act = tracker.on_event("ws:agent", "StopFailure", "s1", {
        "error": "authentication_failed",
        "last_assistant_message": "Not logged in · Please run /login"})
    assert act is not None and act.current == A.ERROR
    problem = tracker.problems["ws:agent"]
    assert problem.permanent
    assert problem.describe("ws:agent").startswith("Claude Code is not logged in: run `claude`")
    assert "wezparctl start ws:agent" in problem.describe("ws:agent")
    tracker.on_event("ws:agent", "UserPromptSubmit", "s1")
    tracker.on_event("ws:agent", "Stop", "s1", {"agent_id": "sub"})  # a subagent's: no success
    assert "ws:agent" in tracker.problems
    tracker.on_event("ws:agent", "Stop", "s1", {"stop_hook_active": False})
    assert "ws:agent" not in tracker.problems
    assert saves  # every change asked for a save


def test_an_adopted_agent_takes_back_its_saved_activity() -> None:
    clock = FakeClock()
    before = AgentTracker(clock)
    before.process_up(SPEC, HANDLE, launch())
    before.on_event("ws:agent", "UserPromptSubmit", "s1")
    before.on_event("ws:agent", "StopFailure", "s1", {"error": "rate_limit"})
    saved = before.to_json("ws:agent")
    assert saved is not None
    clock.advance(30)
    after = AgentTracker(clock)
    after.restore("ws:agent", saved)
    after.process_up(SPEC, HANDLE, None)  # adoption
    assert after.get("ws:agent") == before.get("ws:agent")
    assert after.sessions["ws:agent"] == "s1"
    assert after.problems["ws:agent"] == before.problems["ws:agent"]
    after.restore("ws:other", {"activity": {"current": "nonsense"}})  # damaged: ignored
    assert after.get("ws:other") is None


def test_wait_returns_when_the_activity_is_reached_and_none_on_timeout() -> None:
    async def scenario() -> None:
        tracker = AgentTracker(FakeClock())
        tracker.process_up(SPEC, HANDLE, launch())
        waiter = asyncio.create_task(tracker.wait_for("ws:agent", {A.IDLE}, 30))
        await asyncio.sleep(0)
        tracker.on_event("ws:agent", "UserPromptSubmit")
        await asyncio.sleep(0)
        assert not waiter.done()  # busy is not idle
        tracker.on_event("ws:agent", "Stop")
        act = await asyncio.wait_for(waiter, 5)
        assert act is not None and act.current == A.IDLE
        # already there: at once
        assert await tracker.wait_for("ws:agent", {A.IDLE}, 0) is not None
        assert await tracker.wait_for("ws:agent", {A.WAITING}, 0.01) is None

    asyncio.run(scenario())
