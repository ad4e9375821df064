"""Actions as `wezparctl plan` prints them and as the socket sends them."""

from __future__ import annotations

import json

import pytest

from wezparallel.plan.actions import (
    Action,
    Forget,
    Promote,
    Restart,
    Start,
    Stop,
    Update,
    describe,
    to_json,
)

from .sim import spec

S = spec("web")
CASES: list[tuple[Action, str, dict[str, object]]] = [
    (Start(S.id, S, "new"), "start   ws:web (new)",
     {"action": "start", "id": "ws:web", "reason": "new"}),
    (Start(S.id, S, "restart-policy", counts_as_restart=True),
     "start   ws:web (restart-policy)",
     {"action": "start", "id": "ws:web", "reason": "restart-policy"}),
    (Stop(S.id, "removed"), "stop    ws:web (removed)",
     {"action": "stop", "id": "ws:web", "reason": "removed"}),
    (Restart(S.id, S, "config-changed", ("command", "env")),
     "restart ws:web (config-changed: command, env)",
     {"action": "restart", "id": "ws:web", "reason": "config-changed",
      "fields": ["command", "env"]}),
    (Restart(S.id, S, "user"), "restart ws:web (user)",
     {"action": "restart", "id": "ws:web", "reason": "user", "fields": []}),
    (Update(S.id, S, ("restart", "backoff")), "update  ws:web in place (restart, backoff)",
     {"action": "update", "id": "ws:web", "fields": ["restart", "backoff"]}),
    (Promote(S.id), "running ws:web", {"action": "promote", "id": "ws:web"}),
    (Forget(S.id), "forget  ws:web", {"action": "forget", "id": "ws:web"}),
]


@pytest.mark.parametrize(("action", "line", "data"), CASES)
def test_describe_and_to_json(action: Action, line: str, data: dict[str, object]) -> None:
    assert describe(action) == line
    assert to_json(action) == data
    assert json.loads(json.dumps(to_json(action))) == data


def test_actions_are_frozen_values() -> None:
    assert Stop("a", "user") == Stop("a", "user")
    assert hash(Start(S.id, S, "new")) == hash(Start(S.id, S, "new"))
    with pytest.raises(AttributeError):
        Stop("a", "user").reason = "x"  # type: ignore[misc]
