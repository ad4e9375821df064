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
