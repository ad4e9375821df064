"""Our generated command lines against the real Claude Code CLI from npm, with no login.

An unknown option is rejected by the CLI's option parser before anything else, so a run that
ends with the not-logged-in message proves every flag was accepted. Print mode silently ignores
a settings file it cannot validate, so the hooks file is checked by its effect instead: the real
CLI must run our reporter, which must reach a socket listener here.

If npm cannot install the pinned release, these tests FAIL: a skip would hide that our flags are
no longer verified.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from agent_helpers import EventListener, child_env, wait_until

from wezparallel.agents import failures
from wezparallel.agents.activity import Activity, AgentActivity
from wezparallel.agents.claude import ClaudeContext, claude_argv
from wezparallel.agents.failures import (
    SESSION_EXISTS,
    SESSION_LOST,
    from_screen,
    session_of,
)
from wezparallel.agents.hooks import hooks_settings, write_settings
from wezparallel.spec.model import ClaudeSpec

VERSION = "2.1.197"  # the newest release that runs on Node 20
CACHE = Path("/tmp/wezparallel-claude-cli")
NOT_LOGGED_IN = "Not logged in"
RUN_TIMEOUT = 120.0  # seconds; without a login the CLI answers in ~1.5 s


def _installed(prefix: Path) -> Path | None:
    binary = prefix / "node_modules" / ".bin" / "claude"
    if not binary.exists():
        return None
    out = subprocess.run([str(binary), "--version"], capture_output=True, text=True,
                         timeout=60, check=False)
    return binary if out.stdout.startswith(VERSION) else None


@pytest.fixture(scope="module")
def claude_bin() -> Path:
    """The pinned CLI, installed once into a fixed cache directory and reused afterwards."""
    found = _installed(CACHE)
    if found:
        return found
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is not installed: cannot verify our flags against the real CLI")
    staging = CACHE.with_name(f"{CACHE.name}.{os.getpid()}.tmp")
    staging.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--prefix", str(staging),
         f"@anthropic-ai/claude-code@{VERSION}"],
        capture_output=True, text=True, timeout=600, check=False)
    if proc.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        pytest.fail(f"npm install @anthropic-ai/claude-code@{VERSION} failed:\n{proc.stderr}")
    try:
        staging.rename(CACHE)
    except OSError:  # another test run installed it meanwhile
        shutil.rmtree(staging, ignore_errors=True)
    found = _installed(CACHE)
    if found is None:
        pytest.fail(f"claude {VERSION} installed in {CACHE} but `claude --version` disagrees")
    return found


@pytest.fixture
def home(short_dir: Path) -> Iterator[Path]:
    """An empty HOME: no login, no user settings."""
    path = short_dir / "home"
    path.mkdir()
    yield path


def run_print(argv: tuple[str, ...], home: Path, stdin: str = "") -> tuple[int, str]:
    """Run in print mode (`-p` right after the binary); killed as a group on timeout.

    As root, the CLI refuses bypassPermissions unless IS_SANDBOX=1 says it runs in a sandbox
    (which this throw-away HOME is); `test_bypass_as_root_needs_is_sandbox` pins that.
    """
    env = child_env(PATH=f"{Path(argv[0]).parent}:/usr/bin:/bin", HOME=str(home),
                    LANG="C.UTF-8", IS_SANDBOX="1")
    proc = subprocess.Popen((argv[0], "-p", *argv[1:]), cwd=home, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, _ = proc.communicate(stdin.encode(), timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"claude did not finish within {RUN_TIMEOUT}s: {argv}\n{out.decode()}")
    return proc.returncode, out.decode(errors="replace")


def assert_accepted(code: int, output: str) -> None:
    assert "unknown option" not in output.lower(), output
    assert output.strip().splitlines()[-1].startswith(NOT_LOGGED_IN), output
    assert code == 1, output


def full_spec(tmp: Path, mode: str) -> ClaudeSpec:
    (tmp / "extra1").mkdir(exist_ok=True)
    (tmp / "extra2").mkdir(exist_ok=True)
    mcp = tmp / "mcp.json"
    mcp.write_text('{"mcpServers": {}}')
    return ClaudeSpec(
        prompt="say hi", model="sonnet", permission_mode=mode,
        allowed_tools=("Read", "Bash(git status)"), disallowed_tools=("WebFetch", "Edit"),
        append_system_prompt="Answer in one word.",
        add_dirs=(str(tmp / "extra1"), str(tmp / "extra2")), mcp_config=str(mcp),
        args=("--verbose",),
    )


@pytest.mark.parametrize("mode", ["default", "acceptEdits", "plan", "bypassPermissions"])
def test_every_flag_is_accepted(claude_bin: Path, home: Path, short_dir: Path,
                                mode: str) -> None:
    argv = claude_argv(full_spec(short_dir, mode), str(claude_bin), ClaudeContext())
    assert_accepted(*run_print(argv, home))


def test_session_id_then_resume_by_id_are_accepted(claude_bin: Path, home: Path,
                                                     short_dir: Path) -> None:
    """A first start names its session; the restart resumes exactly that one (the CLI stores
    the session even when the turn fails for want of a login)."""
    session = str(uuid.uuid4())
    spec = full_spec(short_dir, "default")
    first = claude_argv(spec, str(claude_bin), ClaudeContext(new_session=session))
    assert first[-5:-2] == ("--session-id", session, "--verbose")
    assert_accepted(*run_print(first, home))
    again = claude_argv(spec, str(claude_bin),
                        ClaudeContext(resume_session=session, new_session=str(uuid.uuid4())))
    assert again[-3:] == ("--resume", session, "--verbose") and "--continue" not in again
    assert_accepted(*run_print(again, home, stdin="hi"))


def test_the_cli_refusals_are_the_ones_we_recognise_on_an_agents_last_screen(
        claude_bin: Path, home: Path) -> None:
    """Our exit diagnosis (`agents.failures.from_screen`) against the real CLI's own words."""
    session, unknown = str(uuid.uuid4()), str(uuid.uuid4())
    spec = ClaudeSpec(prompt="hi")
    code, output = run_print(claude_argv(spec, str(claude_bin),
                                         ClaudeContext(new_session=session)), home)
    problem = from_screen(output.splitlines())
    assert code == 1 and problem is not None and problem.kind == failures.NOT_LOGGED_IN
    code, output = run_print(claude_argv(spec, str(claude_bin),
                                         ClaudeContext(new_session=session)), home)
    problem = from_screen(output.splitlines())
    assert code == 1 and problem is not None and problem.kind == SESSION_EXISTS, output
    assert session_of(problem) == session
    code, output = run_print(claude_argv(spec, str(claude_bin),
                                         ClaudeContext(resume_session=unknown)), home, "hi")
    problem = from_screen(output.splitlines())
    assert code == 1 and problem is not None and problem.kind == SESSION_LOST, output
    assert session_of(problem) == unknown


@pytest.mark.parametrize("prompt", ["mcp", "--help", "-v"])
def test_odd_prompts_stay_prompts(claude_bin: Path, home: Path, prompt: str) -> None:
    argv = claude_argv(ClaudeSpec(prompt=prompt, add_dirs=(str(home),)), str(claude_bin),
                       ClaudeContext())
    assert_accepted(*run_print(argv, home))


def test_an_unknown_option_is_caught_so_the_check_can_fail(claude_bin: Path,
                                                           home: Path) -> None:
    argv = claude_argv(ClaudeSpec(prompt="hi", args=("--no-such-flag",)), str(claude_bin),
                       ClaudeContext())
    code, output = run_print(argv, home)
    assert "unknown option '--no-such-flag'" in output and code != 0


def test_our_settings_file_is_loaded_and_its_hooks_report(
        claude_bin: Path, home: Path, short_dir: Path, listener: EventListener) -> None:
    settings = write_settings(short_dir / "hooks.json",
                              hooks_settings(listener.path, "ws:agent"))
    session = str(uuid.uuid4())
    argv = claude_argv(ClaudeSpec(prompt="hi"), str(claude_bin),
                       ClaudeContext(settings_file=str(settings), new_session=session))
    assert_accepted(*run_print(argv, home))
    # StopFailure: the failed turn (not logged in) ends as an error, not busy for good
    # StopFailure does not block the CLI: its hook may still run, and SessionEnd overtake it
    wait_until(lambda: len(listener.events()) >= 4, 30, "the StopFailure hook's report")
    events = listener.events()
    assert events[:2] == ["SessionStart", "UserPromptSubmit"]
    assert sorted(events[2:]) == ["SessionEnd", "StopFailure"]
    assert {r["params"]["session_id"] for r in listener.requests} == {session}
    act = Activity.start(0.0)
    turn = [r for r in listener.requests if r["params"]["event"] != "SessionEnd"]
    for i, request in enumerate(turn, start=1):
        params = request["params"]
        act = act.on_hook(params["event"], float(i), expects_prompt=True, hook=params["hook"])
    assert act.current == AgentActivity.ERROR
    assert act.reason == "authentication_failed: Not logged in · Please run /login"


def test_bypass_without_is_sandbox_is_refused_only_for_root(claude_bin: Path,
                                                             home: Path) -> None:
    """A fact for the runtime to surface: as root, bypassPermissions alone fails at start."""
    argv = claude_argv(ClaudeSpec(prompt="hi", permission_mode="bypassPermissions"),
                       str(claude_bin), ClaudeContext())
    env = child_env(PATH="/usr/bin:/bin", HOME=str(home))
    proc = subprocess.run((argv[0], "-p", *argv[1:]), cwd=home, env=env, capture_output=True,
                          text=True, timeout=RUN_TIMEOUT, check=False)
    output = proc.stdout + proc.stderr
    if os.geteuid() == 0:
        assert "cannot be used with root/sudo privileges" in output
    else:
        assert_accepted(proc.returncode, output)
