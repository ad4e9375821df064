"""Why an agent cannot work, in words a person can act on; pure.

Two sources. A turn that fails on an API error fires StopFailure, whose `error` (2.1.197 sends
`error`; the documentation names it `error_type`) says what went wrong. An agent that ends before
any hook runs (interactive Claude Code without a network prints "Unable to connect to Anthropic
services" and exits 1 after about 2 s) tells only its last screen, read once at its exit.

Some problems need a person: restarting an agent that is not logged in cannot help, so the
runtime stops restarting it (`permanent`). The others (no network, rate limits, server errors)
may pass, and restarts go on at the pace of the restart rules.

The last screen also tells when a session id was refused (Claude Code's own messages, measured on
2.1.197): a `--resume` id Claude Code does not know (`session_lost`), or a `--session-id` that
already exists (`session_exists`); the launcher acts on those (`runtime.launch`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

NOT_LOGGED_IN = "not_logged_in"
UNREACHABLE = "unreachable"
API_ERROR = "api_error"
SESSION_LOST = "session_lost"
SESSION_EXISTS = "session_exists"

_HINTS = {
    NOT_LOGGED_IN: "Claude Code is not logged in: run `claude` in a terminal and log in with "
                   "/login (or set ANTHROPIC_API_KEY), then `wezparctl start {id}`",
    UNREACHABLE: "Claude Code cannot reach Anthropic's API: check the network or proxy",
    API_ERROR: "the last turn failed on an API error",
    SESSION_LOST: "its conversation could not be resumed: Claude Code does not know it",
    SESSION_EXISTS: "Claude Code already has a session with the id it was to start",
}
_LOGIN_ERRORS = frozenset({"authentication_failed", "oauth_org_not_allowed"})

# Checked against the last lines of the screen, first match wins.
SCREEN_PATTERNS = (
    (SESSION_LOST, re.compile(r"No conversation found with session ID: ?(\S+)")),
    (SESSION_EXISTS, re.compile(r"Session ID (\S+) is already in use")),
    # Claude Code's whole message, not the words alone: an agent at work on login code may
    # well print "not logged in" itself.
    (NOT_LOGGED_IN, re.compile(r"(Not logged in|Invalid API key) · Please run /login")),
    (UNREACHABLE, re.compile(r"Unable to connect to Anthropic services|"
                             r"Failed to connect to api\.anthropic\.com", re.IGNORECASE)),
)


@dataclass(frozen=True)
class AgentProblem:
    kind: str
    detail: str  # Claude Code's own words

    @property
    def permanent(self) -> bool:
        """Restarting cannot help until a person acts."""
        return self.kind == NOT_LOGGED_IN

    def describe(self, pid: str) -> str:
        hint = _HINTS.get(self.kind, self.kind).format(id=pid)
        return f"{hint} ({self.detail})" if self.detail else hint


def from_stop_failure(hook: Mapping[str, object]) -> AgentProblem:
    """A failed turn's StopFailure payload: `error` (or `error_type`) and its message
    (`error_message`, or `last_assistant_message` as 2.1.197 sends it)."""
    error = hook.get("error_type") or hook.get("error")
    message = hook.get("error_message") or hook.get("last_assistant_message")
    kind = NOT_LOGGED_IN if error in _LOGIN_ERRORS else API_ERROR
    detail = ": ".join(str(x) for x in (error, message) if x)
    return AgentProblem(kind, detail)


def from_screen(lines: Iterable[str]) -> AgentProblem | None:
    """The problem the last lines of an agent's screen show, if any."""
    text = "\n".join(lines)
    for kind, pattern in SCREEN_PATTERNS:
        found = pattern.search(text)
        if found:
            line = text[text.rfind("\n", 0, found.start()) + 1:].split("\n", 1)[0]
            return AgentProblem(kind, line.strip())
    return None


def session_of(problem: AgentProblem) -> str | None:
    """The session id a session problem names."""
    for kind, pattern in SCREEN_PATTERNS[:2]:
        found = pattern.search(problem.detail) if kind == problem.kind else None
        if found:
            return found.group(1).rstrip(".")
    return None
