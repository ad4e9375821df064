"""The activity pipeline end to end, short of the daemon: our argv starts the stand-in CLI, which
runs our generated hooks, whose reporter writes to a real Unix socket; the requests received
are folded into `Activity` the way the daemon's `agent_event` method will."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from agent_helpers import STUB, EventListener, child_env, wait_until

from wezparallel.agents.activity import Activity, AgentActivity
from wezparallel.agents.claude import ClaudeContext, build_argv, sends_prompt
from wezparallel.agents.hooks import hooks_settings, settings_path, write_settings
from wezparallel.spec.model import ClaudeSpec, ProcessSpec

A = AgentActivity


@pytest.fixture
def agent_env(short_dir: Path) -> dict[str, str]:
    """A PATH whose `claude` is the stub, as `npm install -g` would provide the real one."""
    bindir = short_dir / "bin"
    bindir.mkdir()
    wrapper = bindir / "claude"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{STUB}" "$@"\n')
    wrapper.chmod(0o755)
    return child_env(PATH=f"{bindir}:/usr/bin:/bin",
                     CLAUDE_CONFIG_DIR=str(short_dir / "claude-config"))


class Agent:
    def __init__(self, spec: ProcessSpec, ctx: ClaudeContext, env: dict[str, str],
                 listener: EventListener) -> None:
        self.listener = listener
        self.expects_prompt = sends_prompt(spec.claude or ClaudeSpec(), ctx)
        self.argv = build_argv(spec, ctx, environ=env)
        self.proc = subprocess.Popen(self.argv, cwd=spec.cwd, env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def wait_events(self, expected: list[str]) -> None:
        wait_until(lambda: self.listener.events() == expected, 30,
                   f"events {expected}, got {self.listener.events()}")

    def activity(self, start: float = 0.0) -> Activity:
        act = Activity.start(start)
        for i, req in enumerate(self.listener.requests, start=1):
            act = act.on_hook(req["params"]["event"], start + i,
                              expects_prompt=self.expects_prompt, hook=req["params"]["hook"])
        return act

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        for pipe in (self.proc.stdin, self.proc.stderr):
            if pipe is not None:
                pipe.close()


@pytest.fixture
def agents() -> Iterator[list[Agent]]:
    started: list[Agent] = []
    yield started
    for agent in started:
        agent.close()


def spec_in(cwd: Path, **claude: object) -> ProcessSpec:
    return ProcessSpec("ws", "agent", cwd=str(cwd), claude=ClaudeSpec(**claude))  # type: ignore[arg-type]


def test_a_session_goes_busy_waiting_idle_and_exited(
        short_dir: Path, listener: EventListener, agent_env: dict[str, str],
        agents: list[Agent]) -> None:
    settings = write_settings(settings_path(short_dir, "ws", "agent"),
                              hooks_settings(listener.path, "ws:agent"))
    ctx = ClaudeContext(settings_file=str(settings))
    agent = Agent(spec_in(short_dir, prompt="run a tool"), ctx, agent_env, listener)
    agents.append(agent)
    assert agent.argv[-4:] == ("--settings", str(settings), "--", "run a tool")

    agent.wait_events(["SessionStart", "UserPromptSubmit", "PreToolUse", "Stop"])
    assert agent.activity().current == A.IDLE
    agent.send("please ask first")
    agent.wait_events(["SessionStart", "UserPromptSubmit", "PreToolUse", "Stop",
                       "UserPromptSubmit", "Notification"])
    assert agent.activity().current == A.WAITING
    agent.send("1")
    agent.wait_events(["SessionStart", "UserPromptSubmit", "PreToolUse", "Stop",
                       "UserPromptSubmit", "Notification", "Stop"])
    assert agent.activity().current == A.IDLE
    assert agent.proc.stdin is not None
    agent.proc.stdin.close()
    assert agent.proc.wait(timeout=30) == 0
    agent.wait_events(["SessionStart", "UserPromptSubmit", "PreToolUse", "Stop",
                       "UserPromptSubmit", "Notification", "Stop", "SessionEnd"])

    act = agent.activity()
    assert [c.activity for c in act.history] == [
        A.STARTING, A.BUSY, A.IDLE, A.BUSY, A.WAITING, A.IDLE, A.EXITED]
    sessions = {r["params"]["session_id"] for r in listener.requests}
    assert len(sessions) == 1 and None not in sessions
    assert {r["params"]["id"] for r in listener.requests} == {"ws:agent"}


SID = "3f0c9a7e-1b2d-4c5e-8f9a-0b1c2d3e4f5a"


def test_a_restarted_agent_resumes_its_session_and_is_idle_without_a_new_prompt(
        short_dir: Path, listener: EventListener, agent_env: dict[str, str],
        agents: list[Agent]) -> None:
    settings = write_settings(short_dir / "s.json", hooks_settings(listener.path, "ws:agent"))
    spec = spec_in(short_dir, prompt="first message")
    first = Agent(spec, ClaudeContext(new_session=SID, settings_file=str(settings)), agent_env,
                  listener)
    agents.append(first)
    first.wait_events(["SessionStart", "UserPromptSubmit", "Stop"])
    first.send("crash now")
    assert first.proc.wait(timeout=30) == 3
    listener.requests.clear()

    ctx = ClaudeContext(resume_session=SID, new_session=str(uuid.uuid4()),
                        settings_file=str(settings))
    agent = Agent(spec, ctx, agent_env, listener)
    agents.append(agent)
    assert agent.argv[-2:] == ("--resume", SID) and "first message" not in agent.argv
    agent.wait_events(["SessionStart"])
    assert agent.activity().current == A.IDLE
    assert {r["params"]["session_id"] for r in listener.requests} == {SID}
    agent.send("crash now")
    assert agent.proc.wait(timeout=30) == 3
    assert listener.events() == ["SessionStart", "UserPromptSubmit"]
    assert agent.activity().current == A.BUSY  # a crash sends no SessionEnd: the runtime's job


def run_stub(args: list[str], cwd: Path, env: dict[str, str],
             stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(STUB), *args], cwd=cwd, env=env, input=stdin,
                          capture_output=True, text=True, timeout=30, check=False)


def test_the_stand_in_keeps_sessions_per_directory_like_the_real_cli(
        short_dir: Path, agent_env: dict[str, str]) -> None:
    """The behaviour measured on Claude Code 2.1.197 that makes `--continue` wrong for two
    agents in one directory, and the errors `--resume`/`--session-id` give."""
    one, two = str(uuid.uuid4()), str(uuid.uuid4())
    assert run_stub(["--session-id", one, "--", "hi"], short_dir, agent_env).returncode == 0
    assert run_stub(["--session-id", two, "--", "hi"], short_dir, agent_env).returncode == 0
    newest = run_stub(["--continue", "--", "next"], short_dir, agent_env)
    assert newest.returncode == 0
    [project] = (Path(agent_env["CLAUDE_CONFIG_DIR"]) / "projects").iterdir()
    assert "next" in (project / f"{two}.jsonl").read_text()  # the newest of the directory
    assert "next" not in (project / f"{one}.jsonl").read_text()
    again = run_stub(["--session-id", one], short_dir, agent_env)
    assert (again.returncode, again.stderr.strip()) == (
        1, f"Error: Session ID {one} is already in use.")
    unknown = str(uuid.uuid4())
    missing = run_stub(["--resume", unknown], short_dir, agent_env)
    assert (missing.returncode, missing.stderr.strip()) == (
        1, f"No conversation found with session ID: {unknown}")
    elsewhere = short_dir / "elsewhere"
    elsewhere.mkdir()
    assert run_stub(["--resume", one], elsewhere, agent_env).returncode == 1  # per directory
    assert run_stub(["--resume", one], short_dir, agent_env, "/exit\n").returncode == 0
    bad = run_stub(["--session-id", "nope"], short_dir, agent_env)
    assert (bad.returncode, bad.stderr.strip()) == (
        1, "Error: Invalid session ID. Must be a valid UUID.")
    offline = run_stub(["--session-id", str(uuid.uuid4())], short_dir,
                       {**agent_env, "CLAUDE_STUB_OFFLINE": "1"})
    assert offline.returncode == 1 and "Unable to connect to Anthropic services" in \
        offline.stderr


def test_a_failed_turn_ends_in_error_and_a_subagents_stop_ends_nothing(
        short_dir: Path, listener: EventListener, agent_env: dict[str, str],
        agents: list[Agent]) -> None:
    settings = write_settings(short_dir / "s.json", hooks_settings(listener.path, "ws:agent"))
    ctx = ClaudeContext(new_session=SID, settings_file=str(settings))
    agent = Agent(spec_in(short_dir, prompt="subagent ask"), ctx, agent_env, listener)
    agents.append(agent)
    agent.wait_events(["SessionStart", "UserPromptSubmit", "PreToolUse", "Stop",
                       "Notification"])
    assert agent.activity().current == A.WAITING  # the subagent's Stop did not make it idle
    assert listener.requests[3]["params"]["hook"]["agent_id"] == "a1b2c3"
    agent.send("1")
    agent.wait_events(["SessionStart", "UserPromptSubmit", "PreToolUse", "Stop",
                       "Notification", "Stop"])
    assert agent.activity().current == A.IDLE
    agent.send("autherror")
    agent.wait_events(["SessionStart", "UserPromptSubmit", "PreToolUse", "Stop",
                       "Notification", "Stop", "UserPromptSubmit", "StopFailure"])
    act = agent.activity()
    assert act.current == A.ERROR  # not busy for good
    assert act.reason == "authentication_failed: Not logged in · Please run /login"


def test_without_hooks_nothing_is_reported(
        short_dir: Path, listener: EventListener, agent_env: dict[str, str],
        agents: list[Agent]) -> None:
    settings = write_settings(short_dir / "s.json", hooks_settings(listener.path, "ws:agent"))
    ctx = ClaudeContext(settings_file=str(settings))
    agent = Agent(spec_in(short_dir, prompt="hello", hooks=False), ctx, agent_env, listener)
    agents.append(agent)
    assert agent.proc.stdin is not None
    agent.proc.stdin.close()
    assert agent.proc.wait(timeout=30) == 0
    assert listener.requests == []
