"""The activity pipeline end to end, short of the daemon: our argv starts the stand-in CLI, which
runs our generated hooks, whose reporter writes to a real Unix socket; the requests received
are folded into `Activity` the way the daemon's `agent_event` method will."""

from __future__ import annotations

import subprocess
import sys
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
    return child_env(PATH=f"{bindir}:/usr/bin:/bin")


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
                              expects_prompt=self.expects_prompt)
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


def test_a_restarted_agent_continues_and_is_idle_without_a_new_prompt(
        short_dir: Path, listener: EventListener, agent_env: dict[str, str],
        agents: list[Agent]) -> None:
    settings = write_settings(short_dir / "s.json", hooks_settings(listener.path, "ws:agent"))
    ctx = ClaudeContext(has_run_before=True, settings_file=str(settings))
    agent = Agent(spec_in(short_dir, prompt="first message"), ctx, agent_env, listener)
    agents.append(agent)
    assert agent.argv[-1] == "--continue" and "first message" not in agent.argv
    agent.wait_events(["SessionStart"])
    assert agent.activity().current == A.IDLE
    agent.send("crash now")
    assert agent.proc.wait(timeout=30) == 3
    assert listener.events() == ["SessionStart", "UserPromptSubmit"]
    assert agent.activity().current == A.BUSY  # a crash sends no SessionEnd: the runtime's job


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
