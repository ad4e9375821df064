"""Agents, worktrees and health probes through a real daemon and the real `wezparctl`.

The agent is `tests/fakes/claude_stub.py` behind a wrapper named in `claude.binary`: it runs
the hook commands of the `--settings` file the daemon generated, so activity travels the real
way (hook -> reporter -> the daemon's socket). Its stdin is a FIFO the test writes prompts to
(opened read-write by the wrapper, so it never sees end of input), which stands in for a
pane's keyboard under the headless backend.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.support import DaemonProcess, git, make_repo, retry_until, script

STUB = Path(__file__).resolve().parents[1] / "fakes" / "claude_stub.py"
DaemonFactory = Callable[..., DaemonProcess]


class StubAgent:
    """The stand-in CLI's wrapper and the FIFO that is its keyboard."""

    def __init__(self, root: Path) -> None:
        self.fifo = root / "agent.in"
        os.mkfifo(self.fifo)
        self.wrapper = root / "claude"
        self.wrapper.write_text(
            f'#!/bin/sh\nexec "{sys.executable}" "{STUB}" "$@" <>"{self.fifo}"\n')
        self.wrapper.chmod(0o755)
        self.workdir = root / "work"
        self.workdir.mkdir()

    def type(self, line: str) -> None:
        # The agent holds the FIFO open for reading, so this open does not block.
        fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
        try:
            os.write(fd, line.encode() + b"\n")
        finally:
            os.close(fd)

    def conf(self, prompt: str, **extra: str) -> str:
        lines = ["workspace: ws", "processes:", "  agent:",
                 f"    cwd: {self.workdir}", "    start_secs: 0",
                 f"    claude: {{binary: {self.wrapper}, prompt: {prompt!r}}}"]
        lines += [f"    {k}: {v}" for k, v in extra.items()]
        return "\n".join(lines) + "\n"


def activity(d: DaemonProcess, pid: str) -> str | None:
    value = d.process(pid).get("activity")
    return str(value) if value is not None else None


def wait_activity(d: DaemonProcess, pid: str, want: str, timeout: float = 30) -> None:
    retry_until(lambda: activity(d, pid) == want, timeout, 0.05, f"{pid} to be {want}")


# --- activity -------------------------------------------------------------------------------

def test_activity_follows_the_hooks_and_wait_blocks_until_reached(
        daemon_factory: DaemonFactory) -> None:
    d = daemon_factory()
    agent = StubAgent(d.root)
    (d.conf / "ws.yaml").write_text(agent.conf("tool"))
    d.start()
    out = d.ctl("wait", "ws:agent", "--until", "idle", "--timeout", "30", timeout=60)
    assert out.returncode == 0, out.stderr + d.daemon_log()
    assert out.stdout.strip() == "ws:agent: idle"
    p = d.process("ws:agent")
    assert p["activity"] == "idle" and p["state"] == "RUNNING"
    assert abs(p["activity_since"] - time.time()) < 60
    assert "idle" in d.ctl("status").stdout

    agent.type("ask")  # the turn needs permission: waiting
    out = d.ctl("wait", "ws:agent", "--until", "waiting", "--timeout", "30", timeout=60)
    assert out.returncode == 0, out.stderr
    late = d.ctl("wait", "ws:agent", "--until", "busy", "--timeout", "0.3")
    assert late.returncode == 1
    assert "did not become busy within 0.3s (it is waiting)" in late.stderr
    agent.type("yes")
    wait_activity(d, "ws:agent", "idle")

    assert d.ctl("stop", "ws:agent").returncode == 0
    assert activity(d, "ws:agent") == "exited"


def test_a_restarted_agent_resumes_its_conversation(daemon_factory: DaemonFactory) -> None:
    d = daemon_factory()
    agent = StubAgent(d.root)
    (d.conf / "ws.yaml").write_text(agent.conf("first task"))
    d.start()
    assert d.ctl("wait", "ws:agent", "--until", "idle", "--timeout", "30").returncode == 0
    assert d.ctl("restart", "ws:agent").returncode == 0
    wait_activity(d, "ws:agent", "idle")  # no first prompt this time: idle after SessionStart
    started = [line for line in d.daemon_log().splitlines() if "ws:agent: started pid" in line]
    assert len(started) == 2, d.daemon_log()
    session = d.process("ws:agent")["session_id"]
    assert f"'--session-id', '{session}', '--', 'first task'" in started[0]
    assert f"'--resume', '{session}'" in started[1] and "first task" not in started[1]
    assert "--continue" not in started[0] + started[1]


def test_missing_claude_binary_is_fatal_with_the_install_hint(
        daemon_factory: DaemonFactory, tmp_path: Path) -> None:
    d = daemon_factory({"ws.yaml": "workspace: ws\nprocesses:\n  agent:\n"
                        f"    cwd: {tmp_path}\n"
                        f"    claude: {{binary: {tmp_path / 'no-claude'}}}\n"})
    d.start()
    p = d.wait_state("ws:agent", "FATAL")
    assert "Claude Code not found" in p["error"]
    assert "npm install -g @anthropic-ai/claude-code" in p["error"]
    assert d.ctl("status").returncode == 1


# --- worktrees ------------------------------------------------------------------------------

PRINT_CWD = (f"[{sys.executable}, -c, "
             "'import os,time; print(os.getcwd(), flush=True); time.sleep(600)']")


def worktree_conf(repo: Path) -> str:
    return ("workspace: ws\nprocesses:\n  dev:\n"
            f"    cwd: {repo}\n    start_secs: 0\n    worktree: true\n"
            f"    command: {PRINT_CWD}\n")


def worktrees(d: DaemonProcess) -> list[dict[str, Any]]:
    out = d.ctl("worktree", "list", "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["worktrees"]  # type: ignore[no-any-return]


def test_worktree_is_created_reused_and_never_removed_dirty(
        daemon_factory: DaemonFactory) -> None:
    d = daemon_factory()
    repo = make_repo(d.root)
    (d.conf / "ws.yaml").write_text(worktree_conf(repo))
    d.start()
    d.wait_state("ws:dev", "RUNNING")
    path = repo / ".wezparallel" / "worktrees" / "ws" / "dev"
    retry_until(lambda: d.ctl("logs", "ws:dev").stdout.strip() == str(path), 15, 0.05,
                "the process to print its cwd")
    assert git(path, "branch", "--show-current") == "wezparallel/ws/dev"
    (path / "notes.txt").write_text("work in progress\n")  # uncommitted work

    assert d.ctl("restart", "ws:dev").returncode == 0
    assert (path / "notes.txt").exists()  # the same worktree, reused
    [row] = worktrees(d)
    assert row | {"ahead": 0} == {
        "id": "ws:dev", "path": str(path), "branch": "wezparallel/ws/dev", "exists": True,
        "dirty": True, "changes": 1, "ahead": 0, "error": None}
    assert "dirty (1)" in d.ctl("worktree", "list").stdout

    running = d.ctl("worktree", "remove", "ws:dev", "--force")
    assert running.returncode == 1 and "stop it first" in running.stderr
    assert d.ctl("stop", "ws:dev").returncode == 0
    dirty = d.ctl("worktree", "remove", "ws:dev")
    assert dirty.returncode == 1 and "uncommitted changes" in dirty.stderr
    assert (path / "notes.txt").exists()
    forced = d.ctl("worktree", "remove", "ws:dev", "--force")
    assert forced.returncode == 0, forced.stderr
    assert "branch wezparallel/ws/dev kept" in forced.stdout
    assert not path.exists()
    assert git(repo, "branch", "--list", "wezparallel/ws/dev")  # the branch stays


def test_worktree_outside_git_is_fatal_not_a_loop(daemon_factory: DaemonFactory,
                                                   tmp_path: Path) -> None:
    d = daemon_factory({"ws.yaml": "workspace: ws\nprocesses:\n  dev:\n"
                        f"    cwd: {tmp_path}\n    worktree: true\n    command: sleep 60\n"})
    d.start()
    p = d.wait_state("ws:dev", "FATAL")
    assert "not inside a git repository" in p["error"] and p["error"].startswith("ws:dev")
    [row] = worktrees(d)
    assert row["id"] == "ws:dev" and "not inside a git repository" in row["error"]


# --- health ---------------------------------------------------------------------------------

class Target:
    """A loopback HTTP server whose answer the test switches between 200 and 503."""

    def __init__(self) -> None:
        self.status = 503
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(target.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/health"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


@pytest.fixture
def target() -> Iterator[Target]:
    t = Target()
    yield t
    t.close()


def test_http_probe_and_depends_on_healthy(daemon_factory: DaemonFactory,
                                           target: Target) -> None:
    conf = ("workspace: ws\nprocesses:\n"
            "  api:\n    command: sleep 600\n    start_secs: 0\n"
            f"    health: [{{kind: http, url: '{target.url}', interval: 200ms, retries: 1}}]\n"
            "  web:\n    command: sleep 600\n    start_secs: 0\n"
            "    depends_on: {api: {condition: healthy}}\n")
    d = daemon_factory({"ws.yaml": conf})
    d.start()
    retry_until(lambda: d.process("ws:api")["health"] == "unhealthy", 15, 0.05, "unhealthy")
    api = d.process("ws:api")
    assert api["state"] == "RUNNING" and "HTTP 503" in api["health_reason"]
    assert "unhealthy (http: GET" in d.ctl("status").stdout
    assert d.process("ws:web")["state"] == "STOPPED"  # still waiting for a healthy api

    target.status = 200
    d.wait_state("ws:web", "RUNNING")
    assert d.process("ws:api")["health"] == "healthy"
    target.status = 503
    retry_until(lambda: d.process("ws:api")["health"] == "unhealthy", 15, 0.05, "unhealthy")
    assert d.process("ws:web")["state"] == "RUNNING"  # a dependency going bad stops nothing


def test_notify_action_reaches_status_once_per_incident(daemon_factory: DaemonFactory,
                                                        target: Target) -> None:
    conf = ("workspace: ws\nprocesses:\n"
            "  api:\n    command: sleep 600\n    start_secs: 0\n"
            f"    health: [{{kind: http, url: '{target.url}', interval: 100ms, retries: 1,"
            " action: notify}]\n"
            "  other:\n    command: sleep 600\n    start_secs: 0\n")
    d = daemon_factory({"ws.yaml": conf})
    d.start()
    notices = retry_until(lambda: d.status()["notices"] or None, 15, 0.05, "a notice")
    assert [(n["process"], n["message"]) for n in notices] == [
        ("ws:api", f"http: GET {target.url}: HTTP 503")]
    api = d.process("ws:api")
    assert api["state"] == "RUNNING" and api["restarts"] == 0
    text = d.ctl("status").stdout
    assert f"ws:api: http: GET {target.url}: HTTP 503" in text
    assert text.splitlines()[-1].startswith("notice ")
    # a status filtered to another process leaves the api's notice out
    other = json.loads(d.ctl("status", "ws:other", "--json").stdout)
    assert other["notices"] == []
    # the status calls above took several 100 ms intervals of failing checks: one incident,
    # told once
    target.status = 200
    retry_until(lambda: d.process("ws:api")["health"] == "healthy", 15, 0.05, "healthy")
    assert len(d.status()["notices"]) == 1
    target.status = 503
    retry_until(lambda: len(d.status()["notices"]) == 2 or None, 15, 0.05, "a second notice")


def test_wait_with_a_pattern_waits_for_every_matching_agent_or_any(
        daemon_factory: DaemonFactory) -> None:
    """Issue 11.9: `wait 'ws:*'` means all the agents it matches (the dev server beside them
    is no agent and is left out); `--any` means the first; `--timeout` takes units."""
    d = daemon_factory()
    (d.root / "a").mkdir()
    (d.root / "b").mkdir()
    quick, asking = StubAgent(d.root / "a"), StubAgent(d.root / "b")
    lines = ["workspace: ws", "processes:"]
    for name, agent, prompt in (("a", quick, "tool"), ("b", asking, "ask")):
        lines += [f"  {name}:", f"    cwd: {agent.workdir}", "    start_secs: 0",
                  f"    claude: {{binary: {agent.wrapper}, prompt: {prompt}}}"]
    lines += ["  dev: {command: sleep 600, start_secs: 0}"]
    (d.conf / "ws.yaml").write_text("\n".join(lines) + "\n")
    d.start()
    wait_activity(d, "ws:a", "idle")
    wait_activity(d, "ws:b", "waiting")
    both = d.ctl("wait", "ws:*", "--until", "idle", "--timeout", "1500ms")
    assert both.returncode == 1, both
    assert "ws:b did not become idle within 1.5s (it is waiting)" in both.stderr
    first = d.ctl("wait", "ws:*", "--until", "idle", "--any", "--timeout", "30s")
    assert (first.returncode, first.stdout) == (0, "ws:a: idle\n"), first
    asking.type("yes")
    done = d.ctl("wait", "ws", "--until", "idle", "--timeout", "1m", timeout=90)
    assert (done.returncode, done.stdout) == (0, "ws:a: idle\nws:b: idle\n"), done
    none = d.ctl("wait", "ws:d*", "--until", "idle")
    assert none.returncode == 1 and "'ws:d*' matches no claude agent" in none.stderr, none


@pytest.mark.parametrize("value", ["2x", "-1", "soon"])
def test_wait_timeout_that_is_no_duration_is_a_usage_error(value: str) -> None:
    out = subprocess.run([script("wezparctl"), "--socket", "/nonexistent/wp.sock", "wait",
                          "ws:a", "--until", "idle", "--timeout", value],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "--timeout" in out.stderr, out
