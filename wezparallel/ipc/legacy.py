"""The messages of the older wezterm-parallel, translated into our methods.

Its users' scripts send serde-style enum values (`"Ping"`, `{"Ping": null}`,
`{"WorkspaceCreate": {"name": .., "template": ..}}`) and read bare JSON back, without our
`{"id", "ok"}` envelope. Recognising them here keeps the server and the protocol unaware of that
history: the server asks `translate`, calls the method it names and writes its result bare.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PONG = "Pong"


@dataclass(frozen=True)
class LegacyCall:
    """A legacy message as one of our methods, or as a fixed answer when `method` is None."""

    method: str | None
    params: dict[str, Any] = field(default_factory=dict)
    answer: Any = None  # the reply when no method is called; else the method's bare result


def error_reply(message: str) -> dict[str, str]:
    """How wezterm-parallel reported failures: `{"Error": "message"}`."""
    return {"Error": message}


def _variant(message: Any) -> tuple[str, Any] | None:
    """`"Name"` or `{"Name": value}` (one key, capitalised): the shapes serde gives enum values."""
    if isinstance(message, str) and message[:1].isupper():
        return message, None
    if isinstance(message, dict) and len(message) == 1:
        ((name, value),) = message.items()
        if name[:1].isupper():
            return name, value
    return None


def is_legacy(message: Any) -> bool:
    """Whether a decoded frame is a wezterm-parallel message rather than our request object."""
    return _variant(message) is not None


def translate(message: Any) -> LegacyCall | str:
    """The call for a legacy message, or why it cannot be served (for `error_reply`).

    Call only when `is_legacy(message)` holds.
    """
    variant = _variant(message)
    if variant is None:
        return "not a wezterm-parallel message"
    name, value = variant
    if name == "Ping" and (value is None or value == {}):
        return LegacyCall(None, answer=PONG)
    if name == "TemplateList" and (value is None or value == {}):
        return LegacyCall("templates")
    if name == "WorkspaceCreate":
        return _workspace_create(value)
    if name == "TaskQueue":
        return _task_queue(value)
    return f"unsupported wezterm-parallel message {name!r}"


def _workspace_create(value: Any) -> LegacyCall | str:
    if not isinstance(value, dict):
        return "WorkspaceCreate needs an object {\"name\": .., \"template\": ..}"
    name, template = value.get("name"), value.get("template")
    if not isinstance(name, str) or not name:
        return "WorkspaceCreate needs a non-empty string 'name'"
    if template is not None and not isinstance(template, str):
        return "WorkspaceCreate 'template' must be a string"
    return LegacyCall("workspace_create", {"name": name, "template": template})


TITLE_LIMIT = 80  # characters of a TaskQueue command used as the task's title


def _task_queue(value: Any) -> LegacyCall | str:
    """`{"TaskQueue": {"id": .., "priority": 0-255, "command": ..}}`: a todo task whose prompt
    is the command. Its id was the sender's own; the reply carries ours. The message names no
    workspace: with several, the task has none and waits for `task assign`."""
    if not isinstance(value, dict):
        return "TaskQueue needs an object {\"id\": .., \"priority\": .., \"command\": ..}"
    command, priority = value.get("command"), value.get("priority", 0)
    if not isinstance(command, str) or not command.strip():
        return "TaskQueue needs a non-empty string 'command'"
    if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 255:
        return "TaskQueue 'priority' must be an integer from 0 to 255"
    text = command.strip()
    title = text.splitlines()[0][:TITLE_LIMIT]
    return LegacyCall("task_add", {"title": title, "body": "" if title == text else text,
                                   "priority": priority, "placed": False})
