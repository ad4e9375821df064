"""What an agent is doing: starting, busy, waiting for the user, idle, error (its last turn
failed), exited.

Two sources, both pure here (the runtime feeds them and supplies `now`):

- Claude Code's hook events, the robust source: `on_hook_event` maps one to the next activity.
- The pane's text, for agents started without hooks: `ScreenWatch` classifies it with patterns
  and reports idle only after the text has stayed the same and idle-looking for `settle`
  seconds, because a pane between two tool calls looks idle for a moment (a false idle would
  wake up every `wezparctl wait --until idle` script too early). Patterns break when Claude
  Code's UI wording changes, which is why they are only the fallback.

`Activity` keeps a bounded history of changes with their times, for time tracking.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from wezparallel.agents.failures import from_stop_failure


class AgentActivity(enum.StrEnum):
    STARTING = "starting"
    BUSY = "busy"
    WAITING = "waiting"  # needs a permission answer or input from the user
    IDLE = "idle"
    ERROR = "error"  # the last turn failed (an API error: not logged in, rate limit...)
    EXITED = "exited"


A = AgentActivity
HISTORY_LIMIT = 200  # changes kept per agent
REASON_LIMIT = 300  # characters of a reason kept (a message from Claude Code)
Hook = Mapping[str, object]  # the fields of a hook's payload the reporter passes on

# Notification's `notification_type` (Claude Code >= 2.0.37). `idle_prompt` is the reminder
# that the session has sat at its prompt a while; `auth_success` and types to come say
# nothing about the activity.
NOTIFICATION_TYPES = {"permission_prompt": A.WAITING, "elicitation_dialog": A.WAITING,
                      "idle_prompt": A.IDLE}


def on_hook_event(current: AgentActivity, event: str, *, expects_prompt: bool = False,
                  hook: Hook | None = None) -> AgentActivity:
    """The activity after a hook event; unknown events change nothing.

    `expects_prompt`: the session was started with a first message, so SessionStart is followed
    by a turn at once and must not report idle in between. `hook`: the payload's fields.

    A subagent's events carry `agent_id` (Claude Code >= 2.1.69): its Stop or StopFailure ends
    the subagent's work, not the session's turn. Stop ends the turn whether `stop_hook_active`
    is false (the usual end) or true (the end of a continuation another Stop hook asked for): if
    a hook makes Claude go on, its next tool use reports busy again, while waiting for an event
    that may never come would leave the agent busy for good. Hooks that do not block Claude Code
    (StopFailure) can arrive after SessionEnd: only a new session leaves `exited`.
    """
    hook = hook or {}
    subagent = bool(hook.get("agent_id"))
    if current == A.EXITED and event != "SessionStart":
        return current  # a late hook (they run concurrently): nothing revives an ended session
    if event == "SessionStart":
        if current in (A.BUSY, A.WAITING):  # a mid-turn compaction also starts a session
            return current
        return A.STARTING if expects_prompt else A.IDLE
    if event in ("UserPromptSubmit", "PreToolUse", "PostToolUse"):
        return A.BUSY
    if event == "Notification":
        return _notification(current, hook)
    if event in ("Stop", "StopFailure"):
        if subagent:
            return current
        return A.IDLE if event == "Stop" else A.ERROR
    if event == "SessionEnd":
        return A.EXITED
    return current


def _notification(current: AgentActivity, hook: Hook) -> AgentActivity:
    kind = hook.get("notification_type")
    if isinstance(kind, str) and kind:
        found = NOTIFICATION_TYPES.get(kind)
        if found == A.IDLE and current == A.ERROR:
            return current  # still ready for a prompt; keep the failure visible
        return current if found is None else found
    # Versions without the type: judge by the message ("Claude needs your permission to use
    # Bash", "Claude is waiting for your input").
    message = str(hook.get("message") or "").lower()
    if "waiting for your input" in message:
        return current if current == A.ERROR else A.IDLE
    if "permission" in message or "needs your" in message:
        return A.WAITING
    # Unknown wording: during a turn it asks for the user; an idle session is only reminded.
    return current if current in (A.IDLE, A.ERROR) else A.WAITING


def hook_reason(event: str, hook: Hook) -> str | None:
    """What to show beside the activity an event led to: the notification's message, or the
    error of a failed turn in Claude Code's own words."""
    if event == "Notification":
        text = hook.get("message")
    elif event == "StopFailure":
        text = from_stop_failure(hook).detail
    else:
        return None
    return str(text)[:REASON_LIMIT] if text else None


@dataclass(frozen=True)
class Change:
    activity: AgentActivity
    since: float  # wall-clock seconds, for humans and time tracking


@dataclass(frozen=True)
class Activity:
    """The current activity, since when, why (for waiting and error), and the changes that led
    to it (oldest first)."""

    current: AgentActivity = A.STARTING
    since: float = 0.0
    history: tuple[Change, ...] = ()
    limit: int = HISTORY_LIMIT
    reason: str | None = None

    @classmethod
    def start(cls, now: float, limit: int = HISTORY_LIMIT) -> Activity:
        return cls(A.STARTING, now, (Change(A.STARTING, now),), limit)

    def to(self, activity: AgentActivity, now: float, reason: str | None = None) -> Activity:
        """Record `activity` at `now`; the same activity again keeps its `since` (and its
        reason, unless a new one is given)."""
        if activity == self.current:
            return self if reason is None or reason == self.reason else replace(
                self, reason=reason)
        history = (*self.history, Change(activity, now))[-self.limit:]
        return replace(self, current=activity, since=now, history=history, reason=reason)

    def on_hook(self, event: str, now: float, *, expects_prompt: bool = False,
                hook: Hook | None = None) -> Activity:
        hook = hook or {}
        new = on_hook_event(self.current, event, expects_prompt=expects_prompt, hook=hook)
        reason = hook_reason(event, hook) if new in (A.WAITING, A.ERROR) else None
        return self.to(new, now, reason)

    def durations(self, now: float) -> dict[AgentActivity, float]:
        """Seconds spent in each activity over the kept history, up to `now`."""
        out: dict[AgentActivity, float] = {}
        ends = [c.since for c in self.history[1:]] + [now]
        for change, end in zip(self.history, ends, strict=True):
            out[change.activity] = out.get(change.activity, 0.0) + max(0.0, end - change.since)
        return out

    def to_json(self) -> dict[str, object]:
        return {"current": self.current.value, "since": self.since, "reason": self.reason,
                "history": [[c.activity.value, c.since] for c in self.history]}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Activity:
        """Raises ValueError (or TypeError) on a record this version cannot read."""
        history = data.get("history")
        if not isinstance(history, list):
            raise ValueError("history is not a list")
        changes = tuple(Change(A(str(a)), float(t)) for a, t in history)
        reason = data.get("reason")
        return cls(A(str(data["current"])), float(data["since"]),  # type: ignore[arg-type]
                   changes[-HISTORY_LIMIT:], HISTORY_LIMIT,
                   str(reason) if reason is not None else None)


# Screen patterns of Claude Code 2.x, checked in this order (first match wins).
WAITING_PATTERNS = (
    r"Do you want to (proceed|make this edit|create|run)",
    r"❯\s*1\.\s*Yes",
    r"Would you like to",
    r"waiting for your (input|permission)",
)
BUSY_PATTERNS = (
    r"esc to interrupt",
    r"[✻✽✶✳✢·]\s*\w+…",
)
IDLE_PATTERNS = (
    r"\? for shortcuts",
    r"^\s*[│|]?\s*>\s*$",
    r"^\s*❯\s*$",
)


def classify_screen(text: str) -> AgentActivity | None:
    """What the pane's text looks like, judged on its last lines; None when unclear."""
    tail = "\n".join(text.rstrip("\n").splitlines()[-25:])
    for activity, patterns in ((A.WAITING, WAITING_PATTERNS), (A.BUSY, BUSY_PATTERNS),
                               (A.IDLE, IDLE_PATTERNS)):
        if any(re.search(p, tail, re.MULTILINE | re.IGNORECASE) for p in patterns):
            return activity
    return None


@dataclass(frozen=True)
class ScreenWatch:
    """Debounced screen classification; feed it every capture of the pane with its time."""

    settle: float = 3.0  # seconds the text must stay unchanged and idle-looking
    text: str | None = None
    changed_at: float = 0.0

    def observe(self, text: str, now: float) -> tuple[ScreenWatch, AgentActivity | None]:
        """The new watch state and the activity to report now (None: keep the current one)."""
        watch = self if text == self.text else replace(self, text=text, changed_at=now)
        seen = classify_screen(text)
        if seen == A.IDLE:
            settled = text == self.text and now - watch.changed_at >= self.settle
            return watch, A.IDLE if settled else None
        if seen is None and text != self.text and self.text is not None:
            return watch, A.BUSY  # text moving without a prompt box: output is streaming
        return watch, seen
