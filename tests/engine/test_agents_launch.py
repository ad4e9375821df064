"""`Launcher`: worktree, hooks settings file, resume marker and argv, on real files and real
git repositories; and the supervisor turning a launch failure into FATAL, not a loop."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from tests.support import git, make_repo
from wezparallel.backends.base import ExitCallback, Handle
from wezparallel.backends.memory import MemoryBackend
from wezparallel.clock import FakeClock
from wezparallel.errors import SpawnError
from wezparallel.plan.lifecycle import State
from wezparallel.runtime.launch import Launch, Launcher
from wezparallel.runtime.supervisor import Supervisor
from wezparallel.spec.model import ClaudeSpec, ProcessSpec, WorktreeSpec

STUB = Path(__file__).resolve().parents[1] / "fakes" / "claude_stub.py"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path)


@pytest.fixture
def claude_bin(tmp_path: Path) -> str:
    wrapper = tmp_path / "bin" / "claude"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{STUB}" "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


def agent(cwd: Path, binary: str, **kw: object) -> ProcessSpec:
    claude = ClaudeSpec(binary=binary, prompt="fix the tests")
    return ProcessSpec("ws", "agent", cwd=str(cwd), claude=claude, **kw)  # type: ignore[arg-type]


def prepare(launcher: Launcher, spec: ProcessSpec) -> Launch:
    return asyncio.run(launcher.prepare(spec))


def test_a_plain_command_runs_as_it_is(tmp_path: Path) -> None:
    spec = ProcessSpec("ws", "api", command=("sleep", "5"), cwd=str(tmp_path))
    launch = prepare(Launcher(tmp_path / "state", tmp_path / "d.sock"), spec)
    assert launch == Launch(("sleep", "5"), spec)


def test_agent_gets_a_settings_file_reporting_to_our_socket(tmp_path: Path,
                                                            claude_bin: str) -> None:
    sock = tmp_path / "d.sock"
    launcher = Launcher(tmp_path / "state", sock)
    launch = prepare(launcher, agent(tmp_path, claude_bin))
    settings = tmp_path / "state" / "agents" / "ws" / "agent.settings.json"
    session = launcher.session_id("ws:agent")
    assert session is not None
    assert launch.argv == (claude_bin, "--settings", str(settings), "--session-id", session,
                           "--", "fix the tests")
    assert launch.agent and launch.reports_activity and launch.expects_prompt
    command = json.loads(settings.read_text())["hooks"]["Stop"][0]["hooks"][0]["command"]
    assert str(sock) in command and "ws:agent" in command


def test_without_a_socket_or_with_hooks_off_there_is_no_settings_file(
        tmp_path: Path, claude_bin: str) -> None:
    no_socket = prepare(Launcher(tmp_path / "s1"), agent(tmp_path, claude_bin))
    assert "--settings" not in no_socket.argv and not no_socket.reports_activity
    off = ProcessSpec("ws", "agent", cwd=str(tmp_path),
                      claude=ClaudeSpec(binary=claude_bin, hooks=False))
    launch = prepare(Launcher(tmp_path / "s2", tmp_path / "d.sock"), off)
    assert "--settings" not in launch.argv and not launch.reports_activity
    assert not list((tmp_path / "s2").rglob("*.settings.json"))


def test_each_agent_resumes_its_own_session_once_a_prompt_reached_it(
        tmp_path: Path, claude_bin: str) -> None:
    launcher = Launcher(tmp_path / "state", tmp_path / "d.sock")
    spec = agent(tmp_path, claude_bin)
    other = ProcessSpec("ws", "other", cwd=str(tmp_path), claude=spec.claude)  # same directory
    first, first_other = prepare(launcher, spec), prepare(launcher, other)
    mine, theirs = launcher.session_id("ws:agent"), launcher.session_id("ws:other")
    assert mine and theirs and mine != theirs
    assert first.argv[-4:] == ("--session-id", mine, "--", "fix the tests")
    assert first_other.argv[-4:] == ("--session-id", theirs, "--", "fix the tests")
    # not confirmed yet: Claude Code has not stored a conversation to resume; a new id each time
    again = prepare(launcher, spec)
    assert "--resume" not in again.argv and again.argv[-1] == "fix the tests"
    mine = launcher.session_id("ws:agent")
    launcher.remember_conversation("ws:agent", mine)
    launcher.remember_conversation("ws:other", theirs)
    resumed = prepare(launcher, spec)
    assert resumed.argv[-2:] == ("--resume", mine) and not resumed.expects_prompt
    assert prepare(launcher, other).argv[-2:] == ("--resume", theirs)
    assert "--continue" not in resumed.argv
    # a new daemon reads the record back
    assert prepare(Launcher(tmp_path / "state", tmp_path / "d.sock"), spec).argv[-2:] == (
        "--resume", mine)
    elsewhere = tmp_path / "other"
    elsewhere.mkdir()
    moved = prepare(launcher, agent(elsewhere, claude_bin))  # Claude keeps sessions per cwd
    assert "--resume" not in moved.argv and moved.argv[-1] == "fix the tests"


def test_a_clear_moves_the_conversation_to_the_session_the_hooks_report(
        tmp_path: Path, claude_bin: str) -> None:
    launcher = Launcher(tmp_path / "state", tmp_path / "d.sock")
    spec = agent(tmp_path, claude_bin)
    prepare(launcher, spec)
    launcher.remember_conversation("ws:agent", "after-clear")
    assert prepare(launcher, spec).argv[-2:] == ("--resume", "after-clear")
    launcher.forget_conversation("ws:agent")  # Claude Code did not know it any more
    fresh = prepare(launcher, spec)
    assert "--resume" not in fresh.argv and fresh.argv[-1] == "fix the tests"
    conv = Launcher(tmp_path / "state").conversation("ws:agent")  # as a new daemon reads it
    assert conv is not None and not conv.confirmed and conv.session_id != "after-clear"


def test_resume_never_starts_fresh_even_after_a_conversation(tmp_path: Path,
                                                               claude_bin: str) -> None:
    launcher = Launcher(tmp_path / "state", tmp_path / "d.sock")
    spec = ProcessSpec("ws", "agent", cwd=str(tmp_path),
                       claude=ClaudeSpec(binary=claude_bin, prompt="go", resume="never"))
    prepare(launcher, spec)
    launcher.remember_conversation("ws:agent")
    argv = prepare(launcher, spec).argv
    assert "--resume" not in argv and "--session-id" in argv and argv[-1] == "go"


def test_missing_binary_names_the_process_and_how_to_install(tmp_path: Path) -> None:
    launcher = Launcher(tmp_path / "state", tmp_path / "d.sock")
    with pytest.raises(SpawnError) as err:
        prepare(launcher, agent(tmp_path, str(tmp_path / "nope" / "claude")))
    assert str(err.value).startswith("ws:agent: Claude Code not found")
    assert "npm install -g @anthropic-ai/claude-code" in str(err.value)


def test_worktree_replaces_the_cwd_and_is_reused(repo: Path, tmp_path: Path,
                                                 claude_bin: str) -> None:
    launcher = Launcher(tmp_path / "state", tmp_path / "d.sock")
    spec = agent(repo, claude_bin, worktree=WorktreeSpec())
    first = prepare(launcher, spec)
    path = repo / ".wezparallel" / "worktrees" / "ws" / "agent"
    assert first.spec.cwd == str(path) and first.spec.claude == spec.claude
    assert (path / "README").read_text() == "hello\n"
    assert git(path, "branch", "--show-current") == "wezparallel/ws/agent"
    (path / "work.txt").write_text("in progress")
    second = prepare(launcher, spec)
    assert second.spec.cwd == str(path)
    assert (path / "work.txt").read_text() == "in progress"  # reused, not recreated


def test_worktree_outside_git_is_a_clear_spawn_error(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    spec = ProcessSpec("ws", "api", command=("true",), cwd=str(plain), worktree=WorktreeSpec())
    with pytest.raises(SpawnError) as err:
        prepare(Launcher(tmp_path / "state"), spec)
    assert str(err.value).startswith(f"ws:api: worktree: {plain} is not inside a git repository")


def test_supervisor_makes_a_launch_failure_fatal_without_spawning(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    spec = ProcessSpec("ws", "api", command=("true",), cwd=str(plain), worktree=WorktreeSpec())

    async def scenario() -> None:
        backend: list[MemoryBackend] = []
        sup = Supervisor(lambda _s: backend[0], FakeClock(), tmp_path / "state")
        backend.append(MemoryBackend(sup.on_exit))
        sup.set_desired({spec.id: spec})
        for _ in range(3):
            await sup.reconcile()
        st = sup.statuses[spec.id]
        assert st.state == State.FATAL
        assert st.error is not None and "not inside a git repository" in st.error
        assert backend[0].spawned == []

    asyncio.run(scenario())


def test_supervisor_spawns_in_the_worktree_and_keeps_the_configured_spec(
        repo: Path, tmp_path: Path) -> None:
    spec = ProcessSpec("ws", "api", command=("run",), cwd=str(repo), worktree=WorktreeSpec())

    class Recording(MemoryBackend):
        def __init__(self, on_exit: ExitCallback) -> None:
            super().__init__(on_exit)
            self.cwds: list[str] = []

        async def spawn(self, s: ProcessSpec, argv: tuple[str, ...], log_path: Path) -> Handle:
            self.cwds.append(s.cwd)
            return await super().spawn(s, argv, log_path)

    async def scenario() -> None:
        backend: list[Recording] = []
        sup = Supervisor(lambda _s: backend[0], FakeClock(), tmp_path / "state")
        backend.append(Recording(sup.on_exit))
        sup.set_desired({spec.id: spec})
        await sup.reconcile()
        assert backend[0].cwds == [str(repo / ".wezparallel" / "worktrees" / "ws" / "api")]
        assert sup.statuses[spec.id].spec == spec  # reloads compare against the config

    asyncio.run(scenario())
