"""What an agent is doing: starting, busy, waiting for the user, idle, exited.

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
from dataclasses import dataclass, replace


class AgentActivity(enum.StrEnum):
    STARTING = "starting"
    BUSY = "busy"
    WAITING = "waiting"  # needs a permission answer or input from the user
    IDLE = "idle"
    EXITED = "exited"


A = AgentActivity
HISTORY_LIMIT = 200  # changes kept per agent


def on_hook_event(current: AgentActivity, event: str, *,
                  expects_prompt: bool = False) -> AgentActivity:
    """The activity after a hook event; unknown events change nothing.

    `expects_prompt`: the session was started with a first message, so SessionStart is followed
    by a turn at once and must not report idle in between.
    """
    if event == "SessionStart":
        if current in (A.BUSY, A.WAITING):  # a mid-turn compaction also starts a session
            return current
        return A.STARTING if expects_prompt else A.IDLE
    if event in ("UserPromptSubmit", "PreToolUse", "PostToolUse"):
        return A.BUSY
    if event == "Notification":
        # Sent for permission prompts during a turn, and as a reminder when an idle session
        # has waited a while for input: the latter must not turn idle into waiting.
        return current if current == A.IDLE else A.WAITING
    if event == "Stop":
        return A.IDLE
    if event == "SessionEnd":
        return A.EXITED
    return current


@dataclass(frozen=True)
class Change:
    activity: AgentActivity
    since: float  # wall-clock seconds, for humans and time tracking


@dataclass(frozen=True)
class Activity:
    """The current activity, since when, and the changes that led to it (oldest first)."""

    current: AgentActivity = A.STARTING
    since: float = 0.0
    history: tuple[Change, ...] = ()
    limit: int = HISTORY_LIMIT

    @classmethod
    def start(cls, now: float, limit: int = HISTORY_LIMIT) -> Activity:
        return cls(A.STARTING, now, (Change(A.STARTING, now),), limit)

    def to(self, activity: AgentActivity, now: float) -> Activity:
        """Record `activity` at `now`; the same activity again keeps its `since`."""
        if activity == self.current:
            return self
        history = (*self.history, Change(activity, now))[-self.limit:]
        return replace(self, current=activity, since=now, history=history)

    def on_hook(self, event: str, now: float, *, expects_prompt: bool = False) -> Activity:
        return self.to(on_hook_event(self.current, event, expects_prompt=expects_prompt), now)

    def durations(self, now: float) -> dict[AgentActivity, float]:
        """Seconds spent in each activity over the kept history, up to `now`."""
        out: dict[AgentActivity, float] = {}
        ends = [c.since for c in self.history[1:]] + [now]
        for change, end in zip(self.history, ends, strict=True):
            out[change.activity] = out.get(change.activity, 0.0) + max(0.0, end - change.since)
        return out


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
