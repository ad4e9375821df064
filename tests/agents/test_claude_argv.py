from __future__ import annotations

import os
from pathlib import Path

import pytest

from wezparallel.agents.claude import (
    BINARY_ENV,
    ClaudeContext,
    build_argv,
    claude_argv,
    resolve_binary,
    sends_prompt,
)
from wezparallel.errors import SpawnError
from wezparallel.spec.model import ClaudeSpec, ProcessSpec

FULL = ClaudeSpec(
    prompt="fix the tests", model="sonnet", permission_mode="acceptEdits",
    allowed_tools=("Read", "Bash(git *)"), disallowed_tools=("WebFetch",),
    append_system_prompt="be brief", add_dirs=("/srv/a", "/srv/b"),
    mcp_config="/etc/mcp.json", args=("--verbose",),
)


def executable(path: Path) -> Path:
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


def test_every_field_becomes_its_flag_and_the_prompt_comes_last_after_double_dash() -> None:
    argv = claude_argv(FULL, "/bin/claude", ClaudeContext(settings_file="/s/hooks.json"))
    assert argv == (
        "/bin/claude", "--model", "sonnet", "--permission-mode", "acceptEdits",
        "--allowedTools", "Read", "Bash(git *)", "--disallowedTools", "WebFetch",
        "--append-system-prompt", "be brief", "--add-dir", "/srv/a", "/srv/b",
        "--mcp-config", "/etc/mcp.json", "--settings", "/s/hooks.json", "--verbose",
        "--", "fix the tests",
    )


def test_a_bare_spec_is_just_the_binary() -> None:
    assert claude_argv(ClaudeSpec(), "/bin/claude", ClaudeContext()) == ("/bin/claude",)


SID = "0b9a4c2e-5f7d-4e1a-9c3b-2d8e6f4a1b7c"
OTHER = "7e1d3b5a-2c4f-4a6b-8d9e-1f3a5c7b9d2e"


def test_a_fresh_session_gets_the_id_we_chose_and_the_prompt() -> None:
    argv = claude_argv(ClaudeSpec(prompt="hello"), "/bin/claude", ClaudeContext(new_session=SID))
    assert argv == ("/bin/claude", "--session-id", SID, "--", "hello")


def test_resume_auto_resumes_its_own_session_by_id_instead_of_repeating_the_prompt() -> None:
    ctx = ClaudeContext(resume_session=SID, new_session=OTHER)
    argv = claude_argv(ClaudeSpec(prompt="hello"), "/bin/claude", ctx)
    assert argv == ("/bin/claude", "--resume", SID)
    assert "--continue" not in argv
    assert not sends_prompt(ClaudeSpec(prompt="hello"), ctx)
    assert sends_prompt(ClaudeSpec(prompt="hello"), ClaudeContext(new_session=OTHER))


def test_resume_never_starts_afresh_with_a_new_id_and_the_prompt() -> None:
    spec = ClaudeSpec(prompt="hello", resume="never")
    ctx = ClaudeContext(resume_session=SID, new_session=OTHER)
    assert claude_argv(spec, "/bin/claude", ctx) == (
        "/bin/claude", "--session-id", OTHER, "--", "hello")


def test_hooks_false_leaves_out_the_settings_file() -> None:
    argv = claude_argv(ClaudeSpec(hooks=False), "c", ClaudeContext(settings_file="/s.json"))
    assert "--settings" not in argv


def test_a_prompt_that_names_a_subcommand_is_not_run_as_that_subcommand() -> None:
    assert claude_argv(ClaudeSpec(prompt="doctor"), "c", ClaudeContext())[-1] == "doctor "
    assert claude_argv(ClaudeSpec(prompt="-x"), "c", ClaudeContext())[-2:] == ("--", "-x")


def test_unknown_permission_mode_is_refused_with_the_choices() -> None:
    with pytest.raises(SpawnError, match="'yolo' is not one of acceptEdits, auto"):
        claude_argv(ClaudeSpec(permission_mode="yolo"), "c", ClaudeContext())


def test_binary_from_spec_then_env_then_path(tmp_path: Path) -> None:
    on_path = executable(tmp_path / "claude")
    other = executable(tmp_path / "other-claude")
    env = {"PATH": str(tmp_path)}
    assert resolve_binary(ClaudeSpec(), env) == str(on_path)
    assert resolve_binary(ClaudeSpec(), {**env, BINARY_ENV: str(other)}) == str(other)
    assert resolve_binary(ClaudeSpec(binary="other-claude"),
                          {**env, BINARY_ENV: "/nowhere"}) == str(other)


def test_missing_binary_says_how_to_install_or_configure(tmp_path: Path) -> None:
    with pytest.raises(SpawnError) as info:
        resolve_binary(ClaudeSpec(), {"PATH": str(tmp_path)})
    message = str(info.value)
    assert "'claude' (from PATH) is not an executable" in message
    assert "npm install -g @anthropic-ai/claude-code" in message
    assert "claude.binary" in message


def test_binary_that_is_not_executable_is_missing(tmp_path: Path) -> None:
    plain = tmp_path / "claude"
    plain.write_text("not a program")
    with pytest.raises(SpawnError, match=r"\(from claude.binary\)"):
        resolve_binary(ClaudeSpec(binary=str(plain)), {"PATH": ""})


def test_build_argv_uses_the_process_env_path(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    binary = executable(tmp_path / "claude")
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv(BINARY_ENV, raising=False)
    spec = ProcessSpec("ws", "agent", claude=ClaudeSpec(prompt="go"),
                       env=(("PATH", str(tmp_path)),))
    assert build_argv(spec) == (str(binary), "--", "go")
    assert os.environ["PATH"] == "/nonexistent"


def test_build_argv_refuses_a_plain_command() -> None:
    with pytest.raises(SpawnError, match="ws:web: not a claude process"):
        build_argv(ProcessSpec("ws", "web", command=("true",)))
