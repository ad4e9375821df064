"""The hook spool's replay: a real tracker fed from a real file, a daemon killed mid-replay
(modelled by a step that raises), and a real daemon that applies what a real agent's hooks
spooled while it was down.

Each restart is modelled the way the daemon does it: a new tracker restored from what the
earlier one saved (`to_json`), then the adoption (`process_up` without a launch)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.engine.test_agents_e2e import StubAgent, activity
from tests.support import DaemonProcess, retry_until
from wezparallel.agents.activity import AgentActivity
from wezparallel.backends.base import Handle
from wezparallel.clock import FakeClock
from wezparallel.runtime import hook_spool
from wezparallel.runtime.agents import AgentTracker
from wezparallel.runtime.launch import Launch
from wezparallel.spec.model import ClaudeSpec, ProcessSpec

A = AgentActivity
SPEC = ProcessSpec("ws", "agent", claude=ClaudeSpec(binary="claude"))
HANDLE = Handle("ws:agent", 4242, "memory")
T0 = 1_000_000.0  # when the earlier daemon last saw the agent change: busy
BUSY = {"activity": {"current": "busy", "since": T0, "reason": None,
                     "history": [["idle", T0 - 5], ["busy", T0]]},
        "session_id": "s1", "problem": None}
DaemonFactory = Callable[..., DaemonProcess]


class Killed(Exception):
    """The daemon dies here."""


def adopted(saved: dict[str, Any]) -> tuple[AgentTracker, list[str]]:
    """A restarted daemon's tracker with the agent re-adopted; the hook events it applies."""
    tracker = AgentTracker(FakeClock(wall_offset=T0 + 100 - 1000.0))
    tracker.restore("ws:agent", saved)
    tracker.process_up(SPEC, HANDLE, None)
    seen: list[str] = []
    tracker.hook_watchers.append(lambda pid, event, session, hook, when: seen.append(event))
    return tracker, seen


def line(when: float, event: str, session: str | None = "s1", pid: str = "ws:agent") -> bytes:
    params = {"id": pid, "event": event, "session_id": session, "hook": {}}
    return json.dumps({"time": when, "request": {"id": 1, "method": "agent_event",
                                                 "params": params}}).encode() + b"\n"


TURN = [line(T0 + 1, "Stop"), line(T0 + 2, "UserPromptSubmit"), line(T0 + 3, "PreToolUse"),
        line(T0 + 4, "Stop")]


def history(tracker: AgentTracker) -> list[tuple[str, float]]:
    act = tracker.get("ws:agent")
    assert act is not None
    return [(c.activity.value, c.since - T0) for c in act.history]


def test_a_replay_applies_in_order_dated_by_each_event_and_removes_the_spool(
        tmp_path: Path) -> None:
    spool = tmp_path / "hooks.spool"
    spool.write_bytes(b"".join(TURN))
    tracker, seen = adopted(BUSY)
    saves: list[dict[str, Any] | None] = []
    applied = hook_spool.replay(spool, hook_spool.applier(tracker),
                                lambda: saves.append(tracker.to_json("ws:agent")))
    assert applied == 4 and seen == ["Stop", "UserPromptSubmit", "PreToolUse", "Stop"]
    assert history(tracker) == [("idle", -5), ("busy", 0), ("idle", 1), ("busy", 2), ("idle", 4)]
    assert len(saves) == 1 and saves[0] == tracker.to_json("ws:agent")
    assert list(tmp_path.iterdir()) == []


def test_a_daemon_killed_after_saving_does_not_apply_a_line_twice(tmp_path: Path) -> None:
    spool = tmp_path / "hooks.spool"
    spool.write_bytes(b"".join(TURN))
    first, _ = adopted(BUSY)
    saved: dict[str, Any] = {}

    def save_then_die() -> None:
        saved.update(first.to_json("ws:agent") or {})
        raise Killed
    with pytest.raises(Killed):
        hook_spool.replay(spool, hook_spool.applier(first), save_then_die)
    replaying = tmp_path / "hooks.spool.replaying"
    assert not spool.exists() and replaying.read_bytes() == b"".join(TURN)

    second, seen = adopted(saved)
    assert hook_spool.replay(spool, hook_spool.applier(second), lambda: None) == 0
    assert seen == []  # the board saw each Stop once, from the first daemon
    assert history(second) == history(first)
    assert list(tmp_path.iterdir()) == []


def test_a_daemon_killed_before_saving_loses_no_line(tmp_path: Path) -> None:
    spool = tmp_path / "hooks.spool"
    spool.write_bytes(b"".join(TURN))
    first, _ = adopted(BUSY)
    apply = hook_spool.applier(first)
    count = [0]

    def apply_then_die(entry: hook_spool.Spooled) -> bool:
        count[0] += 1
        if count[0] == 3:
            raise Killed
        return apply(entry)
    with pytest.raises(Killed):
        hook_spool.replay(spool, apply_then_die, lambda: None)
    # a spool written after that daemon died waits behind the half-replayed file
    spool.write_bytes(line(T0 + 10, "UserPromptSubmit"))

    second, seen = adopted(BUSY)  # nothing was saved: the state is the one before
    assert hook_spool.replay(spool, hook_spool.applier(second), lambda: None) == 5
    assert seen == ["Stop", "UserPromptSubmit", "PreToolUse", "Stop", "UserPromptSubmit"]
    assert history(second)[-3:] == [("busy", 2), ("idle", 4), ("busy", 10)]
    assert list(tmp_path.iterdir()) == []


def test_events_that_no_longer_apply_are_dropped(tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    spool = tmp_path / "hooks.spool"
    spool.write_bytes(b"".join([
        line(T0 - 1, "Stop"),  # older than what the earlier daemon saw
        line(T0 + 1, "Stop", pid="ws:gone"),  # an agent that runs no more
        line(T0 + 2, "Stop", session="s0"),  # another conversation's
        b'{"time": 1, "request": {"params": ', b"\n",  # torn
        line(T0 + 3, "SessionStart", session="s2"),  # a new conversation: it applies
        line(T0 + 4, "UserPromptSubmit", session="s2"),
    ]))
    tracker, seen = adopted(BUSY)
    caplog.set_level("DEBUG", logger="wezparallel.runtime.hook_spool")
    assert hook_spool.replay(spool, hook_spool.applier(tracker), lambda: None) == 2
    assert seen == ["SessionStart", "UserPromptSubmit"]
    assert tracker.sessions["ws:agent"] == "s2"
    dropped = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert len(dropped) == 3 and "ws:gone" in dropped[1] and "session s0" in dropped[2]
    assert "not a spooled hook event" in caplog.text


def test_a_new_instance_takes_none_of_the_earlier_ones_events(tmp_path: Path) -> None:
    spool = tmp_path / "hooks.spool"
    spool.write_bytes(line(T0 + 1, "Stop"))
    tracker = AgentTracker(FakeClock(wall_offset=T0 + 100 - 1000.0))
    tracker.restore("ws:agent", BUSY)
    tracker.process_up(SPEC, HANDLE, Launch(("claude",), SPEC, agent=True,
                                            reports_activity=True))  # started anew
    assert hook_spool.replay(spool, hook_spool.applier(tracker), lambda: None) == 0
    act = tracker.get("ws:agent")
    assert act is not None and act.current == A.STARTING


# --- a real daemon, a real agent ----------------------------------------------------------------

def _spooled_stop(spool: Path) -> dict[str, Any] | None:
    if not spool.exists():
        return None
    entries = [json.loads(raw) for raw in spool.read_bytes().splitlines()]
    return next((e for e in entries if e["request"]["params"]["event"] == "Stop"), None)


def _stop_spooled_while_killed(d: DaemonProcess) -> tuple[StubAgent, Path, dict[str, Any]]:
    """An agent busy in a 3 s turn, its daemon SIGKILLed: the turn ends while no daemon
    listens and its Stop hook spools the event. (The agent, the spool, the spooled Stop.)"""
    agent = StubAgent(d.root)
    (d.conf / "ws.yaml").write_text(agent.conf("go"))
    d.start()
    assert d.ctl("wait", "ws:agent", "--until", "idle", "--timeout", "30").returncode == 0
    agent.type("sleep:3")
    retry_until(lambda: activity(d, "ws:agent") == "busy", 30, 0.05, "busy")
    d.kill()
    spool = d.state / "hooks.spool"
    stop = retry_until(lambda: _spooled_stop(spool), 30, 0.05, "the spooled Stop")
    return agent, spool, stop


def test_a_stop_spooled_while_the_daemon_was_down_makes_the_agent_idle(
        daemon_factory: DaemonFactory) -> None:
    d = daemon_factory()
    _, spool, stop = _stop_spooled_while_killed(d)
    d.start()
    out = d.ctl("wait", "ws:agent", "--until", "idle", "--timeout", "5")
    assert out.returncode == 0, out.stderr + d.daemon_log()[-3000:]
    p = d.process("ws:agent")
    assert p["pid"] is not None and p["activity_since"] == pytest.approx(stop["time"])
    assert stop["time"] < time.time()
    assert not spool.exists() and not (d.state / "hooks.spool.replaying").exists()
    assert "hook spool: applied ws:agent Stop" in d.daemon_log()
    assert re.search(r"hook spool: ([1-9]) of \1 events applied", d.daemon_log())


def _saved_activity(d: DaemonProcess) -> str | None:
    try:
        record = json.loads((d.state / "state.json").read_text())
    except (OSError, ValueError):
        return None
    records = record.get("processes", record) if isinstance(record, dict) else {}
    agent = (records.get("ws:agent") or {}).get("agent") or {}
    return (agent.get("activity") or {}).get("current")


def test_a_replay_killed_after_saving_is_not_applied_again_by_the_next_daemon(
        daemon_factory: DaemonFactory) -> None:
    """The first daemon applies a spooled Stop; the agent starts a new turn; that daemon is
    killed with the replaying file still there (as if killed between saving and removing it):
    the next daemon must not apply the old Stop again over the newer turn."""
    d = daemon_factory()
    agent, spool, _ = _stop_spooled_while_killed(d)
    spooled = spool.read_bytes()
    d.start()
    assert d.ctl("wait", "ws:agent", "--until", "idle", "--timeout", "5").returncode == 0
    agent.type("sleep:60")
    retry_until(lambda: activity(d, "ws:agent") == "busy", 30, 0.05, "busy again")
    retry_until(lambda: _saved_activity(d) == "busy", 30, 0.05, "busy saved")
    d.kill()
    (d.state / "hooks.spool.replaying").write_bytes(spooled)
    d.start()
    assert activity(d, "ws:agent") == "busy", d.daemon_log()[-3000:]
    assert not (d.state / "hooks.spool.replaying").exists()
    assert re.search(r"hook spool: 0 of [1-9] events applied", d.daemon_log())
