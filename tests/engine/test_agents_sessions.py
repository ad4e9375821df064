"""Agents' conversations, failed turns and a daemon restart, through a real daemon.

The agents are `tests/fakes/claude_stub.py`, which keeps sessions per directory the way Claude
Code 2.1.197 does (`--continue` opens the newest of the directory, `--resume ID` exactly that
one or fails, `--session-id` refuses an id in use) in `$CLAUDE_CONFIG_DIR`, and fires hooks as
the real CLI does, StopFailure included. Each agent's stdin is a FIFO the test types into.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support import DaemonProcess, retry_until

STUB = Path(__file__).resolve().parents[1] / "fakes" / "claude_stub.py"
DaemonFactory = Callable[..., DaemonProcess]


class Agents:
    """Stand-in agents sharing one working directory, each with its own keyboard."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.workdir = root / "work"
        self.workdir.mkdir()
        self.config_dir = root / "claude-config"  # the stand-in's ~/.claude

    def wrapper(self, name: str, **env: str) -> Path:
        fifo = self.root / f"{name}.in"
        os.mkfifo(fifo)
        exports = "".join(f"export {k}={v}\n" for k, v in env.items())
        path = self.root / f"claude-{name}"
        argv_log = self.root / f"{name}.argv"  # one line per start, whatever the backend
        path.write_text(f'#!/bin/sh\n{exports}echo "$*" >>"{argv_log}"\n'
                        f'exec "{sys.executable}" "{STUB}" "$@" <>"{fifo}"\n')
        path.chmod(0o755)
        return path

    def starts(self, name: str) -> list[str]:
        """The argument lines of each start of agent `name`."""
        return (self.root / f"{name}.argv").read_text().splitlines()

    def type(self, name: str, line: str) -> None:
        fd = os.open(self.root / f"{name}.in", os.O_WRONLY | os.O_NONBLOCK)
        try:
            os.write(fd, line.encode() + b"\n")
        finally:
            os.close(fd)

    def conf(self, *names: str, extra: str = "", **env: str) -> str:
        lines = ["workspace: ws", "processes:"]
        for name in names:
            lines += [f"  {name}:", f"    cwd: {self.workdir}", "    start_secs: 0",
                      f"    env: {{CLAUDE_CONFIG_DIR: {self.config_dir}}}",
                      f"    claude: {{binary: {self.wrapper(name, **env)}, "
                      f"prompt: 'first task of {name}'}}"]
            lines += [f"    {line}" for line in extra.splitlines()]
        return "\n".join(lines) + "\n"

    def transcripts(self) -> dict[str, str]:
        """Session id -> what the stand-in stored of that conversation."""
        projects = self.config_dir / "projects"
        return {p.stem: p.read_text() for p in projects.glob("*/*.jsonl")}


def wait_activity(d: DaemonProcess, pid: str, want: str, timeout: float = 30) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        p = d.process(pid)
        return p if p.get("activity") == want else None
    return retry_until(reached, timeout, 0.05, f"{pid} to be {want}")


def conversation_of(agents: Agents, text: str) -> str:
    [found] = [sid for sid, body in agents.transcripts().items() if text in body]
    return found


# --- the wrong conversation resumed -------------------------------------------------------------

@pytest.mark.parametrize("backend", ["subprocess", "tmux"])
def test_two_agents_in_one_directory_each_resume_their_own_conversation(
        daemon_factory: DaemonFactory, backend: str) -> None:
    d = daemon_factory(backend=backend)
    agents = Agents(d.root)
    (d.conf / "ws.yaml").write_text(agents.conf("a", "b"))
    d.start()
    wait_activity(d, "ws:a", "idle")
    wait_activity(d, "ws:b", "idle")
    agents.type("b", "more for b")  # b's conversation is now the newest of the directory
    retry_until(lambda: "more for b" in "".join(agents.transcripts().values()), 30, 0.05,
                "b's second prompt")
    wait_activity(d, "ws:b", "idle")
    a_session = conversation_of(agents, "first task of a")
    b_session = conversation_of(agents, "first task of b")
    assert a_session != b_session

    old_pid = d.process("ws:a")["pid"]
    os.kill(old_pid, signal.SIGKILL)  # a crash: the restart policy brings it back
    retry_until(lambda: d.process("ws:a")["pid"] not in (None, old_pid), 30, 0.05,
                "ws:a to be restarted")
    wait_activity(d, "ws:a", "idle")
    agents.type("a", "second task of a")
    retry_until(lambda: "second task of a" in "".join(agents.transcripts().values()), 30,
                0.05, "a's second prompt")
    assert conversation_of(agents, "second task of a") == a_session, d.daemon_log()
    assert "second task of a" not in agents.transcripts()[b_session]
    assert d.process("ws:a")["session_id"] == a_session
    first, restarted = agents.starts("a")
    assert f"--session-id {a_session} -- first task of a" in first
    assert restarted.endswith(f"--resume {a_session}")  # not the prompt again, never --continue
    assert "--continue" not in first + restarted


def test_a_conversation_claude_no_longer_knows_starts_afresh_with_a_notice(
        daemon_factory: DaemonFactory) -> None:
    d = daemon_factory()
    agents = Agents(d.root)
    (d.conf / "ws.yaml").write_text(agents.conf("a"))
    d.start()
    wait_activity(d, "ws:a", "idle")
    lost = conversation_of(agents, "first task of a")
    shutil.rmtree(agents.config_dir)  # Claude Code's files are gone (another HOME, a cleanup)
    old_pid = d.process("ws:a")["pid"]
    os.kill(old_pid, signal.SIGKILL)
    # the resume fails ("No conversation found"), the next start is a fresh session
    retry_until(lambda: agents.transcripts() or None, 30, 0.05, "a fresh conversation")
    fresh = conversation_of(agents, "first task of a")
    assert fresh != lost
    p = wait_activity(d, "ws:a", "idle")
    assert p["session_id"] == fresh and p["state"] == "RUNNING"
    notices = [n["message"] for n in d.status()["notices"]]
    assert any("could not be resumed" in n and "a new one" in n for n in notices), notices


# --- a failed turn ------------------------------------------------------------------------------

def test_a_failed_turn_leaves_busy_and_wait_says_why_at_once(
        daemon_factory: DaemonFactory) -> None:
    d = daemon_factory()
    agents = Agents(d.root)
    (d.conf / "ws.yaml").write_text(agents.conf("a"))
    d.start()
    wait_activity(d, "ws:a", "idle")
    agents.type("a", "autherror")  # the turn fails the way a logged-out one does
    began = time.monotonic()
    out = d.ctl("wait", "ws:a", "--until", "idle", "--timeout", "60", timeout=90)
    assert out.returncode == 1
    assert "its turn failed (authentication_failed: Not logged in" in out.stderr, out.stderr
    assert time.monotonic() - began < 30  # not the 60 s timeout
    p = wait_activity(d, "ws:a", "error")
    assert p["activity_reason"] == "authentication_failed: Not logged in · Please run /login"
    assert p["agent_problem"].startswith("Claude Code is not logged in")
    assert p["state"] == "RUNNING"
    text = d.ctl("status").stdout
    assert "error" in text and "Claude Code is not logged in" in text
    busy = d.ctl("wait", "ws:a", "--until", "busy", "--timeout", "0.3")  # the next turn: waits
    assert busy.returncode == 1 and "did not become busy within 0.3s (it is error)" in busy.stderr
    agents.type("a", "tool")  # a turn that succeeds clears the problem
    p = wait_activity(d, "ws:a", "idle")
    assert p["agent_problem"] is None


@pytest.mark.parametrize("backend", ["subprocess", "tmux"])
def test_an_agent_that_is_not_logged_in_is_not_restarted_for_ever(
        daemon_factory: DaemonFactory, backend: str) -> None:
    """Through tmux, the last screen is the dead pane's text."""
    d = daemon_factory(backend=backend)
    agents = Agents(d.root)
    (d.conf / "ws.yaml").write_text(agents.conf("a", CLAUDE_STUB_LOGGED_OUT="1"))
    d.start()
    wait_activity(d, "ws:a", "error")
    agents.type("a", "crash")  # it dies with "Not logged in" on its screen
    p = d.wait_state("ws:a", "FATAL", timeout=30)
    assert p["error"].startswith("Claude Code is not logged in"), p
    assert "wezparctl start ws:a" in p["error"] and p["restarts"] == 0
    assert d.ctl("status").returncode == 1


def test_an_agent_without_a_network_says_so_in_status(daemon_factory: DaemonFactory) -> None:
    d = daemon_factory()
    agents = Agents(d.root)
    conf = agents.conf("a", extra="start_secs: 1\nmax_restarts: 2", CLAUDE_STUB_OFFLINE="1")
    (d.conf / "ws.yaml").write_text(conf.replace("    start_secs: 0\n", ""))
    d.start()
    p = retry_until(lambda: (lambda p: p if p["agent_problem"] else None)(d.process("ws:a")),
                    30, 0.05, "the problem to show")
    assert p["agent_problem"].startswith("Claude Code cannot reach Anthropic's API")
    assert "Unable to connect to Anthropic services" in p["agent_problem"]
    assert "cannot reach Anthropic's API" in d.ctl("status").stdout


# --- a daemon restart ---------------------------------------------------------------------------

@pytest.mark.parametrize("backend", ["subprocess", "tmux"])
def test_a_sigkilled_daemon_comes_back_with_uptime_activity_session_and_health(
        daemon_factory: DaemonFactory, backend: str) -> None:
    d = daemon_factory(backend=backend)
    agents = Agents(d.root)
    probe = ("health: [{kind: exec, command: [test, -f, " + str(d.root / "ok") + "],"
             " interval: 1500ms, retries: 2}]")
    (d.conf / "ws.yaml").write_text(agents.conf("a", extra=probe))
    d.start()
    wait_activity(d, "ws:a", "idle")
    agents.type("a", "ask")  # waiting for a permission answer
    wait_activity(d, "ws:a", "waiting")
    before = retry_until(lambda: (lambda p: p if p["health"] == "unhealthy" else None)(
        d.process("ws:a")), 30, 0.05, "unhealthy")
    time.sleep(0.5)  # (so that an uptime counted again from zero would show)
    before = d.process("ws:a")
    assert before["uptime"] >= 0.5

    d.kill(signal.SIGKILL)
    d.start()
    after = d.process("ws:a")
    assert after["pid"] == before["pid"] and after["state"] == "RUNNING"
    assert after["uptime"] >= before["uptime"], (before, after)
    assert abs(after["since"] - before["since"]) < 0.5
    for field in ("activity", "activity_since", "activity_reason", "session_id",
                  "health", "health_reason"):
        assert after[field] == before[field], field
    assert after["activity"] == "waiting" and after["health"] == "unhealthy"
    state = json.loads((d.state / "state.json").read_text())["processes"]["ws:a"]
    history = [change[0] for change in state["agent"]["activity"]["history"]]
    assert history == ["starting", "busy", "idle", "busy", "waiting"]
    agents.type("a", "yes")  # and it goes on from there
    wait_activity(d, "ws:a", "idle")
