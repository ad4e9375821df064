"""Prompts typed into agents' panes end to end: a real daemon, the real `wezparctl`, the Claude
stand-in (tests/fakes/claude_stub.py) in real panes, with the hooks the daemon generated.

The stand-in's input box treats a fast burst as a paste, as Claude Code's does, so a prompt only
counts as sent when its Enter arrived on its own and the agent reported UserPromptSubmit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import DaemonProcess, retry_until
from tests.wezgui import start_gui

STUB = Path(__file__).resolve().parents[1] / "fakes" / "claude_stub.py"
FAKES = Path(__file__).resolve().parents[1] / "fakes"
# Reads lines and answers each reversed (a dev server's pane, say).
ECHO = ("import sys\nprint('ready', flush=True)\n"
        "for line in sys.stdin:\n    print('got:' + line.strip()[::-1], flush=True)\n")
DaemonFactory = Callable[..., DaemonProcess]


def _claude(root: Path, name: str = "claude", stdin: Path | None = None) -> Path:
    """A `claude` on disk that runs the stand-in; with `stdin`, one that reads its prompts
    from that FIFO instead of the pane, so nothing typed into the pane is ever read."""
    binary = root / name
    redirect = f' <>"{stdin}"' if stdin is not None else ""
    binary.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{STUB}" "$@"{redirect}\n')
    binary.chmod(0o755)
    return binary


def _conf(backend: str, procs: dict[str, dict[str, object]]) -> str:
    lines = ["workspace: ws", f"backend: {backend}", "layout: columns", "processes:"]
    lines += [f"  {name}: {json.dumps(spec)}" for name, spec in procs.items()]
    return "\n".join(lines) + "\n"


def _agent(binary: Path, cwd: Path) -> dict[str, object]:
    return {"claude": {"binary": str(binary)}, "cwd": str(cwd), "start_secs": 0}


def _echo(cwd: Path) -> dict[str, object]:
    return {"command": [sys.executable, "-u", "-c", ECHO], "cwd": str(cwd), "start_secs": 0}


class Daemons:
    """Starts a daemon on a backend with the processes `procs(root)` makes; for WezTerm the
    stand-in's panes live on a tmux server in the daemon's directory."""

    def __init__(self, factory: DaemonFactory, monkeypatch: pytest.MonkeyPatch) -> None:
        self.factory = factory
        self.monkeypatch = monkeypatch
        self.made: list[DaemonProcess] = []

    def __call__(self, backend: str, procs: Callable[[Path], dict[str, dict[str, object]]]
                 ) -> DaemonProcess:
        d = self.factory(backend=backend)
        self.made.append(d)
        if backend == "wezterm":  # a WezTerm GUI whose mux is a tmux server of the stand-in
            self.monkeypatch.setenv("XDG_RUNTIME_DIR", str(d.root / "run"))
            start_gui(d.root / "run", d.root / "wez.sock")
        (d.conf / "ws.yaml").write_text(_conf(backend, procs(d.root)))
        d.start()
        return d

    def close(self) -> None:
        for d in self.made:
            d.stop()
            for sock in (d.state / "tmux.sock", d.root / "wez.sock"):
                subprocess.run(["tmux", "-S", str(sock), "kill-server"], capture_output=True,
                               timeout=30)


@pytest.fixture
def daemons(daemon_factory: DaemonFactory, monkeypatch: pytest.MonkeyPatch
            ) -> Iterator[Daemons]:
    monkeypatch.setenv("PATH", f"{FAKES}{os.pathsep}{os.environ['PATH']}")
    for var in ("WEZTERM_PANE", "WEZTERM_UNIX_SOCKET", "FAKE_WEZTERM_EXIT_BEHAVIOR",
                "FAKE_WEZTERM_LOG", "TMUX", "TMUX_PANE", "DISPLAY"):
        monkeypatch.delenv(var, raising=False)
    made = Daemons(daemon_factory, monkeypatch)
    try:
        yield made
    finally:
        made.close()


def _ctl(d: DaemonProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return d.ctl(*args, timeout=90)


def _screen(d: DaemonProcess, pid: str) -> str:
    out = _ctl(d, "capture", pid, "-n", "400")
    assert out.returncode == 0, out.stderr
    return out.stdout


def _idle(d: DaemonProcess, pid: str) -> None:
    out = _ctl(d, "wait", pid, "--until", "idle", "--timeout", "60")
    assert out.returncode == 0, out.stderr + d.daemon_log()[-3000:]


def _done_lines(screen: str) -> list[str]:
    return [line for line in screen.splitlines() if line.startswith("● Done:")]


def test_send_then_wait_idle_submits_every_time(daemons: Daemons) -> None:
    d = daemons("tmux", lambda root: {"agent": _agent(_claude(root), root)})
    _idle(d, "ws:agent")
    for i in range(22):
        out = _ctl(d, "send", "ws:agent", f"task {i}")
        assert out.returncode == 0, out.stderr + d.daemon_log()[-3000:]
        assert out.stdout.strip() == "sent to ws:agent (submitted)", out.stderr
        _idle(d, "ws:agent")
        assert f"● Done: task {i}" in _screen(d, "ws:agent")
    assert _done_lines(_screen(d, "ws:agent")) == [f"● Done: task {i}" for i in range(22)]


def test_sends_in_a_row_each_submit_also_while_the_agent_is_busy(daemons: Daemons) -> None:
    """No wait in between: most prompts find the agent still in the previous turn, and each
    is still submitted on its own (none merged into another, none left in the box)."""
    d = daemons("tmux", lambda root: {"agent": _agent(_claude(root), root)})
    _idle(d, "ws:agent")
    for i in range(20):
        out = _ctl(d, "send", "ws:agent", f"job {i}")
        assert out.returncode == 0, out.stderr + d.daemon_log()[-3000:]
        assert out.stdout.strip() == "sent to ws:agent (submitted)", out.stderr
    _idle(d, "ws:agent")
    assert _done_lines(_screen(d, "ws:agent")) == [f"● Done: job {i}" for i in range(20)]


@pytest.mark.parametrize("backend", ["tmux", "wezterm"])
def test_a_multi_line_prompt_arrives_as_one_message(daemons: Daemons, backend: str) -> None:
    d = daemons(backend, lambda root: {"agent": _agent(_claude(root), root)})
    _idle(d, "ws:agent")
    # lines, a leading dash (an option to click) and a trailing `;` (a separator to tmux)
    prompt = "- first line\nsecond line;\nthird \x1b[201~line;"
    out = _ctl(d, "send", "ws:agent", "--", prompt)
    assert out.returncode == 0, out.stderr + d.daemon_log()[-3000:]
    assert out.stdout.strip() == "sent to ws:agent (submitted)"
    _idle(d, "ws:agent")
    screen = _screen(d, "ws:agent")
    assert _done_lines(screen) == ["● Done: - first line"]
    assert "● Done: - first line\nsecond line;\nthird line;\n" in screen


def test_send_to_a_workspace_reaches_its_agents_unless_all_panes(daemons: Daemons) -> None:
    d = daemons("tmux", lambda root: {"a1": _agent(_claude(root), root),
                                      "a2": _agent(_claude(root), root),
                                      "dev": _echo(root)})
    for pid in ("ws:a1", "ws:a2"):
        _idle(d, pid)
    retry_until(lambda: "ready" in _screen(d, "ws:dev"), 20, 0.05, "dev ready")
    out = _ctl(d, "send", "--workspace", "ws", "hello")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "sent to ws:a1 (submitted), ws:a2 (submitted)"
    for pid in ("ws:a1", "ws:a2"):
        _idle(d, pid)
        assert _done_lines(_screen(d, pid)) == ["● Done: hello"]
    assert "got:" not in _screen(d, "ws:dev")  # the dev server's pane got nothing

    out = _ctl(d, "send", "--all", "--all-panes", "--json", "again")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["sent"] == ["ws:a1", "ws:a2", "ws:dev"]
    assert [(r["id"], r["submitted"]) for r in result["delivery"]] == [
        ("ws:a1", True), ("ws:a2", True), ("ws:dev", None)]
    retry_until(lambda: "got:niaga" in _screen(d, "ws:dev"), 20, 0.05, "dev got the text")

    usage = _ctl(d, "send", "--all-panes", "ws:a1", "x")
    assert usage.returncode == 2 and "--all-panes" in usage.stderr


def test_a_workspace_without_agents_says_how_to_reach_its_panes(daemons: Daemons) -> None:
    d = daemons("tmux", lambda root: {"dev": _echo(root)})
    retry_until(lambda: "ready" in _screen(d, "ws:dev"), 20, 0.05, "dev ready")
    out = _ctl(d, "send", "--workspace", "ws", "x")
    assert out.returncode == 1
    assert out.stderr.strip() == ("wezparctl: workspace 'ws' has no agents to send to "
                                  "(--all-panes sends to every pane)")
    assert "got:" not in _screen(d, "ws:dev")


def test_a_prompt_that_is_never_submitted_is_reported(daemons: Daemons) -> None:
    """The agent reads its prompts elsewhere (a FIFO), so what is typed into its pane is never
    taken: the Enter is pressed twice, then `send` says the prompt was not submitted."""
    def procs(root: Path) -> dict[str, dict[str, object]]:
        fifo = root / "deaf.in"
        os.mkfifo(fifo)
        return {"deaf": _agent(_claude(root, "deaf", stdin=fifo), root)}
    d = daemons("tmux", procs)
    _idle(d, "ws:deaf")
    out = _ctl(d, "send", "ws:deaf", "anyone there?")
    assert out.returncode == 1
    assert out.stdout.strip() == "sent to ws:deaf"
    assert "ws:deaf: typed but not submitted: no UserPromptSubmit within" in out.stderr
    assert "even after a second Enter" in out.stderr
    assert d.process("ws:deaf")["activity"] == "idle"
