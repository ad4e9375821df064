from __future__ import annotations

import json
import shlex
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from agent_helpers import EventListener

from wezparallel.agents.hooks import (
    HOOK_EVENTS,
    REPORTER,
    hooks_settings,
    reporter_command,
    settings_path,
    write_settings,
)


def run_hook(command: str, payload: bytes) -> tuple[subprocess.CompletedProcess[bytes], float]:
    """Run a hook command the way Claude Code does: through the shell, payload on stdin."""
    start = time.monotonic()
    proc = subprocess.run(["/bin/sh", "-c", command], input=payload, capture_output=True,
                          timeout=30, check=False)
    return proc, time.monotonic() - start


def test_settings_have_one_reporter_hook_per_event() -> None:
    settings = hooks_settings("/run/d.sock", "ws:agent", python="/venv/bin/python")
    assert tuple(settings["hooks"]) == HOOK_EVENTS
    for event, groups in settings["hooks"].items():
        (group,) = groups
        assert "matcher" not in group
        (hook,) = group["hooks"]
        assert hook["type"] == "command" and hook["timeout"] == 10
        assert shlex.split(hook["command"]) == [
            "/venv/bin/python", "-I", "-S", str(REPORTER), "--socket", "/run/d.sock",
            "--id", "ws:agent", "--timeout", "1", event,
        ]
    assert REPORTER.is_file()


def test_settings_file_is_written_whole_and_private(tmp_path: Path) -> None:
    path = settings_path(tmp_path, "ws", "agent")
    assert path == tmp_path / "agents" / "ws" / "agent.settings.json"
    settings = hooks_settings(tmp_path / "d.sock", "ws:agent")
    assert write_settings(path, settings) == path
    assert json.loads(path.read_text()) == settings
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["agent.settings.json"]


def test_reporter_sends_one_agent_event_request(short_dir: Path) -> None:
    spaced = short_dir / "a dir"
    spaced.mkdir()
    ev = EventListener(spaced / "d.sock")
    try:
        command = reporter_command(ev.path, "ws:agent", "PreToolUse")
        payload = json.dumps({"session_id": "s-1", "hook_event_name": "PreToolUse",
                              "cwd": "/x", "tool_input": {"content": "x" * 300_000}})
        proc, _ = run_hook(command, payload.encode())
    finally:
        ev.close()
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"", b"")
    assert ev.requests == [{"id": 1, "method": "agent_event", "params": {
        "id": "ws:agent", "event": "PreToolUse", "session_id": "s-1", "hook": {}}}]


def test_reporter_passes_on_the_fields_the_activity_needs_and_nothing_large(
        listener: EventListener) -> None:
    command = reporter_command(listener.path, "ws:agent", "StopFailure")
    payload = {"session_id": "s", "hook_event_name": "StopFailure", "cwd": "/x",
               "error": "authentication_failed", "last_assistant_message": "m" * 1000,
               "agent_id": "a1", "stop_hook_active": False, "notification_type": "idle_prompt",
               "prompt": "secret plans", "tool_input": {"command": "rm"}, "effort": {"x": 1}}
    proc, _ = run_hook(command, json.dumps(payload).encode())
    assert proc.returncode == 0
    [request] = listener.requests
    assert request["params"]["hook"] == {
        "error": "authentication_failed", "last_assistant_message": "m" * 300,
        "agent_id": "a1", "stop_hook_active": False, "notification_type": "idle_prompt"}


def test_reporter_takes_the_event_from_the_payload_and_survives_garbage(
        listener: EventListener) -> None:
    base = [sys.executable, "-I", "-S", str(REPORTER), "--socket", str(listener.path),
            "--id", "ws:a"]
    ok = subprocess.run(base, input=b'{"session_id": "s", "hook_event_name": "Stop"}',
                        capture_output=True, timeout=30, check=False)
    bad = subprocess.run([*base, "Notification"], input=b"\x00not json[",
                         capture_output=True, timeout=30, check=False)
    assert ok.returncode == bad.returncode == 0
    assert [r["params"] for r in listener.requests] == [
        {"id": "ws:a", "event": "Stop", "session_id": "s", "hook": {}},
        {"id": "ws:a", "event": "Notification", "session_id": None, "hook": {}},
    ]


def test_reporter_exits_0_quickly_when_nobody_listens(short_dir: Path) -> None:
    proc, elapsed = run_hook(reporter_command(short_dir / "none.sock", "ws:a", "Stop"), b"{}")
    assert (proc.returncode, proc.stderr) == (0, b"")
    assert elapsed < 5


def test_reporter_gives_up_on_a_daemon_that_never_answers(short_dir: Path) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as hung:
        hung.bind(str(short_dir / "hung.sock"))
        hung.listen(4)  # connections queue up but are never accepted nor answered
        command = reporter_command(short_dir / "hung.sock", "ws:a", "Stop", timeout=0.3)
        proc, elapsed = run_hook(command, b'{"session_id": "s"}')
    assert (proc.returncode, proc.stderr) == (0, b"")
    assert 0.25 < elapsed < 10


def test_reporter_with_bad_arguments_still_exits_0() -> None:
    proc = subprocess.run([sys.executable, "-I", "-S", str(REPORTER), "--bogus"],
                          input=b"", capture_output=True, timeout=30, check=False)
    assert (proc.returncode, proc.stderr) == (0, b"")


def test_reporter_run_time(listener: EventListener) -> None:
    """Measures what every tool use of an agent pays; printed, bounded only generously."""
    command = reporter_command(listener.path, "ws:a", "PreToolUse")
    times = [run_hook(command, b'{"session_id": "s"}')[1] for _ in range(10)]
    print(f"reporter run time: median {statistics.median(times) * 1000:.0f} ms, "
          f"max {max(times) * 1000:.0f} ms over {len(times)} runs")
    assert len(listener.requests) == 10
    assert max(times) < 5
