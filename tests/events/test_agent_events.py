"""Agent activity as events and `on: waiting` hooks, with the Claude Code stand-in driving the
real hooks -> socket path (see tests/engine/test_agents_e2e.py)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.engine.test_agents_e2e import StubAgent, wait_activity
from tests.events.test_events_e2e import events
from tests.support import retry_until


def test_waiting_fires_its_hook_and_activity_is_journalled(daemon_factory,
                                                           tmp_path: Path) -> None:
    d = daemon_factory()
    agent = StubAgent(d.root)
    hook = f"    on: {{waiting: 'cat > \"{tmp_path}/waiting.json\"'}}"
    (d.conf / "ws.yaml").write_text(agent.conf("tool") + hook + "\n")
    d.start()
    wait_activity(d, "ws:agent", "idle")
    agent.type("ask")  # a turn that needs permission: waiting for its user
    wait_activity(d, "ws:agent", "waiting")
    out = tmp_path / "waiting.json"
    retry_until(lambda: out.exists() and out.read_text().endswith("\n"), 15, 0.05,
                "the waiting hook")
    fired = json.loads(out.read_text())
    assert (fired["type"], fired["id"], fired["to"]) == ("activity", "ws:agent", "waiting")
    agent.type("yes")
    wait_activity(d, "ws:agent", "idle")
    moves = [(e["from"], e["to"]) for e in events(d, "ws:agent", "--type", "activity")]
    assert moves[0] == (None, "starting") and ("busy", "waiting") in moves
    assert moves[-1][1] == "idle" and len(moves) >= 4
    report = json.loads(d.ctl("report", "ws:agent", "--json").stdout)
    (a,) = report["agents"]
    assert a["id"] == "ws:agent" and a["waiting"] > 0 and a["busy"] > 0
