"""Makes docs/dashboard.png: the page with 20 processes and agents in mixed states.

    .venv/bin/python -m tests.web.screenshot [docs/dashboard.png]

A real daemon (tmux for the Claude stand-in agents, headless for the rest), real crashes and a
failing health check; one agent is asked a question (waiting), one is told it runs a tool
(busy, as its hooks report), the others idle. Not a test: it only draws the picture.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from tests.support import DaemonProcess, retry_until
from tests.web.kit import conf, shoot, sleeper, stop_with_its_tmux, ticker

ROOT = Path(__file__).resolve().parents[2]
FAKES = ROOT / "tests" / "fakes"
BURN = ("import time\nwhile True:\n    t = time.time()\n    while time.time() - t < 0.04: pass\n"
        "    time.sleep(0.16)\n")


def _files(root: Path) -> dict[str, str]:
    claude = root / "claude"
    claude.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKES / "claude_stub.py"}" "$@"\n')
    claude.chmod(0o755)
    agent = {"claude": {"binary": str(claude)}, "cwd": str(root), "start_secs": 0}
    crash = {"command": [sys.executable, "-c", "import time; time.sleep(1); raise SystemExit(3)"],
             "start_secs": 0, "backoff": {"initial": 30, "reset_after": 60}}
    unhealthy = {**sleeper(), "health": [{"kind": "http", "url": "http://127.0.0.1:9/",
                                          "interval": "1s", "start_period": "0s"}]}
    return {
        "web.yaml": conf({"api": ticker(), "frontend": sleeper(), "worker": {
            "command": [sys.executable, "-c", BURN], "start_secs": 0},
            "scheduler": sleeper(), "search": unhealthy}, workspace="web"),
        "data.yaml": conf({"postgres": sleeper(), "redis": sleeper(), "migrate": {
            "command": ["/usr/local/bin/migrate-db"], "start_secs": 0},
            "backup": {**sleeper(), "autostart": False}, "etl": crash}, workspace="data"),
        "ops.yaml": conf({"exporter": sleeper(), "grafana": sleeper(),
                          "loki": {**sleeper(), "start_secs": 3600},
                          "alerts": {**sleeper(), "autostart": False}}, workspace="ops"),
        "agents.yaml": conf({"reviewer": agent, "coder": agent, "docs": agent,
                             "tests": agent, "triage": agent, "planner": agent},
                            backend="tmux", workspace="agents"),
    }


def main(out: Path) -> None:
    os.environ["PATH"] = f"{FAKES}{os.pathsep}{os.environ['PATH']}"
    for var in ("TMUX", "TMUX_PANE", "WEZTERM_PANE", "WEZTERM_UNIX_SOCKET", "DISPLAY"):
        os.environ.pop(var, None)
    d = DaemonProcess(extra=("--dashboard", "127.0.0.1:0", "--metrics-interval", "1"))
    for name, text in _files(d.root).items():
        (d.conf / name).write_text(text)
    try:
        d.start()
        for pid in ("reviewer", "coder", "docs", "tests", "triage", "planner"):
            d.ctl("wait", f"agents:{pid}", "--until", "idle", "--timeout", "60")
        d.ctl("send", "agents:reviewer", "tool ask")  # waits for a permission answer
        d.ctl("send", "agents:triage", "ask")
        from wezparallel.ipc.client import Client

        with Client(d.socket) as client:  # what the coder's hooks report mid-turn
            client.call("agent_event", {"id": "agents:coder", "event": "UserPromptSubmit"})
            client.call("agent_event", {"id": "agents:planner", "event": "UserPromptSubmit"})
        retry_until(lambda: d.process("data:etl")["state"] == "BACKOFF", 30)
        time.sleep(12)  # a few metrics passes for the sparklines
        shoot(d, out, 1000, _show_the_reviewer)
    finally:
        stop_with_its_tmux(d)
        d.cleanup()


def _show_the_reviewer(page: Any) -> None:
    page.wait_for_timeout(2500)
    page.click('tr[data-id="agents:reviewer"] button.id')
    page.wait_for_timeout(1500)

if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "dashboard.png")
