from __future__ import annotations

import pytest

from wezparallel.agents.activity import (
    Activity,
    AgentActivity,
    Change,
    ScreenWatch,
    classify_screen,
    on_hook_event,
)

A = AgentActivity


@pytest.mark.parametrize(("current", "event", "expected"), [
    (A.STARTING, "SessionStart", A.IDLE),
    (A.EXITED, "SessionStart", A.IDLE),
    (A.BUSY, "SessionStart", A.BUSY),
    (A.IDLE, "UserPromptSubmit", A.BUSY),
    (A.WAITING, "PreToolUse", A.BUSY),
    (A.WAITING, "PostToolUse", A.BUSY),
    (A.BUSY, "Notification", A.WAITING),
    (A.IDLE, "Notification", A.IDLE),
    (A.BUSY, "Stop", A.IDLE),
    (A.WAITING, "Stop", A.IDLE),
    (A.IDLE, "SessionEnd", A.EXITED),
    (A.BUSY, "SubagentStop", A.BUSY),
    (A.IDLE, "NoSuchEvent", A.IDLE),
])
def test_hook_event_transitions(current: AgentActivity, event: str,
                                expected: AgentActivity) -> None:
    assert on_hook_event(current, event) == expected


@pytest.mark.parametrize(("current", "event", "hook", "expected"), [
    # a failed turn (API error, not logged in) ends the turn as an error, not busy for good
    (A.BUSY, "StopFailure", {"error": "authentication_failed"}, A.ERROR),
    (A.BUSY, "StopFailure", {"error_type": "rate_limit"}, A.ERROR),
    (A.EXITED, "StopFailure", {"error": "authentication_failed"}, A.EXITED),  # after SessionEnd
    (A.EXITED, "Stop", {}, A.EXITED),
    (A.ERROR, "UserPromptSubmit", {}, A.BUSY),
    # a subagent's end is not the session's
    (A.BUSY, "Stop", {"agent_id": "a1", "stop_hook_active": False}, A.BUSY),
    (A.BUSY, "StopFailure", {"agent_id": "a1", "error": "server_error"}, A.BUSY),
    (A.BUSY, "Stop", {"stop_hook_active": False}, A.IDLE),
    (A.BUSY, "Stop", {"stop_hook_active": True}, A.IDLE),
    # Notification by its type
    (A.BUSY, "Notification", {"notification_type": "permission_prompt"}, A.WAITING),
    (A.BUSY, "Notification", {"notification_type": "elicitation_dialog"}, A.WAITING),
    (A.BUSY, "Notification", {"notification_type": "idle_prompt"}, A.IDLE),  # Esc: no Stop
    (A.WAITING, "Notification", {"notification_type": "idle_prompt"}, A.IDLE),
    (A.ERROR, "Notification", {"notification_type": "idle_prompt"}, A.ERROR),
    (A.IDLE, "Notification", {"notification_type": "permission_prompt"}, A.WAITING),
    (A.BUSY, "Notification", {"notification_type": "auth_success"}, A.BUSY),
    (A.IDLE, "Notification", {"notification_type": "some_new_type"}, A.IDLE),
    # ... and by its message where the type is missing
    (A.BUSY, "Notification", {"message": "Claude is waiting for your input"}, A.IDLE),
    (A.IDLE, "Notification", {"message": "Claude needs your permission to use Bash"},
     A.WAITING),
    (A.BUSY, "Notification", {"message": "Something else"}, A.WAITING),
    (A.IDLE, "Notification", {"message": "Something else"}, A.IDLE),
])
def test_hook_events_with_their_payload(current: AgentActivity, event: str,
                                        hook: dict[str, object],
                                        expected: AgentActivity) -> None:
    assert on_hook_event(current, event, hook=hook) == expected


def test_a_failed_turn_says_why_and_the_next_turn_forgets_it() -> None:
    act = Activity.start(0.0).on_hook("UserPromptSubmit", 1.0)
    act = act.on_hook("StopFailure", 2.0, hook={
        "error": "authentication_failed",
        "last_assistant_message": "Not logged in · Please run /login"})
    assert (act.current, act.since) == (A.ERROR, 2.0)
    assert act.reason == "authentication_failed: Not logged in · Please run /login"
    act = act.on_hook("Notification", 3.0, hook={"notification_type": "permission_prompt",
                                                  "message": "Claude needs your permission"})
    assert (act.current, act.reason) == (A.WAITING, "Claude needs your permission")
    act = act.on_hook("Stop", 4.0)
    assert (act.current, act.reason) == (A.IDLE, None)


def test_activity_round_trips_through_json() -> None:
    act = Activity.start(10.0).on_hook("UserPromptSubmit", 11.0).on_hook(
        "StopFailure", 12.5, hook={"error": "server_error"})
    assert Activity.from_json(act.to_json()) == act
    with pytest.raises(ValueError):
        Activity.from_json({"current": "dancing", "since": 1.0, "history": []})


def test_session_start_with_a_first_prompt_stays_starting_until_the_turn() -> None:
    assert on_hook_event(A.STARTING, "SessionStart", expects_prompt=True) == A.STARTING


def test_history_records_changes_with_their_times_and_skips_repeats() -> None:
    act = Activity.start(100.0)
    act = act.on_hook("SessionStart", 101.0)
    act = act.on_hook("UserPromptSubmit", 105.0)
    act = act.on_hook("PreToolUse", 107.0)  # still busy: no new change
    act = act.on_hook("Stop", 110.0)
    assert (act.current, act.since) == (A.IDLE, 110.0)
    assert act.history == (Change(A.STARTING, 100.0), Change(A.IDLE, 101.0),
                           Change(A.BUSY, 105.0), Change(A.IDLE, 110.0))
    assert act.durations(120.0) == {A.STARTING: 1.0, A.IDLE: 14.0, A.BUSY: 5.0}


def test_history_is_bounded_keeping_the_newest() -> None:
    act = Activity.start(0.0, limit=3)
    for t in range(1, 10):
        act = act.to(A.BUSY if t % 2 else A.IDLE, float(t))
    assert act.history == (Change(A.BUSY, 7.0), Change(A.IDLE, 8.0), Change(A.BUSY, 9.0))


IDLE_SCREEN = "● Done.\n\n╭────────╮\n│ >      │\n╰────────╯\n  ? for shortcuts\n"
BUSY_SCREEN = "● Reading files\n✻ Pondering… (12s · esc to interrupt)\n"
WAITING_SCREEN = "Bash command\n  rm -rf build\nDo you want to proceed?\n❯ 1. Yes\n  2. No\n"


@pytest.mark.parametrize(("text", "expected"), [
    (IDLE_SCREEN, A.IDLE),
    (BUSY_SCREEN, A.BUSY),
    (WAITING_SCREEN, A.WAITING),
    (BUSY_SCREEN + IDLE_SCREEN.replace("? for shortcuts", ""), A.BUSY),
    ("$ make\ncc -o main main.c\n", None),
])
def test_screen_classifier(text: str, expected: AgentActivity | None) -> None:
    assert classify_screen(text) == expected


def test_idle_screen_is_reported_only_after_it_settles() -> None:
    watch = ScreenWatch(settle=3.0)
    watch, seen = watch.observe(IDLE_SCREEN, 10.0)
    assert seen is None
    watch, seen = watch.observe(IDLE_SCREEN, 12.9)
    assert seen is None
    watch, seen = watch.observe(IDLE_SCREEN, 13.0)
    assert seen == A.IDLE


def test_a_change_restarts_the_settling_period() -> None:
    watch, _ = ScreenWatch(settle=3.0).observe(IDLE_SCREEN, 10.0)
    watch, seen = watch.observe("new output\n" + IDLE_SCREEN, 12.0)
    assert seen is None
    watch, seen = watch.observe("new output\n" + IDLE_SCREEN, 14.5)
    assert seen is None
    _, seen = watch.observe("new output\n" + IDLE_SCREEN, 15.0)
    assert seen == A.IDLE


def test_busy_and_waiting_are_reported_at_once_and_moving_text_is_busy() -> None:
    watch, seen = ScreenWatch().observe(BUSY_SCREEN, 1.0)
    assert seen == A.BUSY
    watch, seen = watch.observe(WAITING_SCREEN, 1.5)
    assert seen == A.WAITING
    watch, seen = watch.observe("compiling 1/3\n", 2.0)
    assert seen == A.BUSY
    _, seen = watch.observe("compiling 1/3\n", 9.0)
    assert seen is None
