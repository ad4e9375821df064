"""`agents.failures`: what a failed turn's payload and an agent's last screen say."""

from __future__ import annotations

import pytest

from wezparallel.agents.failures import (
    API_ERROR,
    NOT_LOGGED_IN,
    SESSION_EXISTS,
    SESSION_LOST,
    UNREACHABLE,
    from_screen,
    from_stop_failure,
    session_of,
)

SID = "f2e67002-377e-4c82-8f13-ffdb51d16b02"
# The interactive CLI without a network, as tmux showed it (Claude Code 2.1.197).
OFFLINE = """.......█ █   █ █..........................................
 Unable to connect to Anthropic services
 Failed to connect to api.anthropic.com: ENOTFOUND
 Please check your internet connection and network settings."""


@pytest.mark.parametrize(("lines", "kind", "detail"), [
    (["", "Not logged in · Please run /login"], NOT_LOGGED_IN,
     "Not logged in · Please run /login"),
    (["Invalid API key · Please run /login"], NOT_LOGGED_IN,
     "Invalid API key · Please run /login"),
    (OFFLINE.splitlines(), UNREACHABLE, "Unable to connect to Anthropic services"),
    ([f"No conversation found with session ID: {SID}"], SESSION_LOST,
     f"No conversation found with session ID: {SID}"),
    ([f"Error: Session ID {SID} is already in use."], SESSION_EXISTS,
     f"Error: Session ID {SID} is already in use."),
])
def test_the_last_screen_names_the_problem(lines: list[str], kind: str, detail: str) -> None:
    problem = from_screen(lines)
    assert problem is not None and (problem.kind, problem.detail) == (kind, detail)


def test_a_screen_that_only_talks_about_logins_is_no_problem() -> None:
    assert from_screen(["● The handler returns 401 when the user is not logged in.",
                        "  raise NotLoggedIn('please run /login first')"]) is None
    assert from_screen([]) is None


def test_session_problems_name_their_session() -> None:
    for line in (f"No conversation found with session ID: {SID}",
                 f"Error: Session ID {SID} is already in use."):
        problem = from_screen([line])
        assert problem is not None and session_of(problem) == SID
    offline = from_screen(OFFLINE.splitlines())
    assert offline is not None and session_of(offline) is None


def test_a_failed_turn_is_a_login_problem_only_for_login_errors() -> None:
    login = from_stop_failure({"error": "authentication_failed",
                               "last_assistant_message": "Not logged in · Please run /login"})
    assert (login.kind, login.permanent) == (NOT_LOGGED_IN, True)
    assert login.describe("ws:a") == (
        "Claude Code is not logged in: run `claude` in a terminal and log in with /login (or set "
        "ANTHROPIC_API_KEY), then `wezparctl start ws:a` "
        "(authentication_failed: Not logged in · Please run /login)")
    limited = from_stop_failure({"error_type": "rate_limit", "error_message": "429"})
    assert (limited.kind, limited.permanent, limited.detail) == (API_ERROR, False,
                                                                 "rate_limit: 429")
    assert from_stop_failure({}).describe("ws:a") == "the last turn failed on an API error"
