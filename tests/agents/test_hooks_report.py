from __future__ import annotations

import fcntl
import json
import shlex
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from agent_helpers import EventListener, wait_until

from wezparallel.agents import report
from wezparallel.agents.hooks import (
    HOOK_EVENTS,
    REPORTER,
    hooks_settings,
    reporter_command,
    settings_path,
    write_settings,
)
from wezparallel.agents.report import MAX_SPOOL
from wezparallel.runtime import hook_spool


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
    spooled = hooks_settings("/run/d.sock", "ws:agent", spool="/st/hooks.spool")
    assert shlex.split(spooled["hooks"]["Stop"][0]["hooks"][0]["command"])[-3:] == [
        "--spool", "/st/hooks.spool", "Stop"]
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


# --- the spool: events the daemon could not be reached for ------------------------------------

def spooled(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def test_reporter_spools_what_no_daemon_received_stamped_and_private(short_dir: Path) -> None:
    spool = short_dir / "state" / "hooks.spool"
    spool.parent.mkdir(mode=0o700)
    stale = short_dir / "stale.sock"  # the socket file a SIGKILLed daemon leaves behind
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as dead:
        dead.bind(str(stale))
    before = time.time()
    for sock in (short_dir / "missing.sock", stale):
        command = reporter_command(sock, "ws:a", "Stop", spool=spool)
        proc, elapsed = run_hook(command, b'{"session_id": "s-1", "stop_hook_active": false}')
        assert (proc.returncode, proc.stderr) == (0, b"") and elapsed < 5
    after = time.time()
    lines = spooled(spool)
    assert [line["request"] for line in lines] == 2 * [{
        "id": 1, "method": "agent_event", "params": {
            "id": "ws:a", "event": "Stop", "session_id": "s-1",
            "hook": {"stop_hook_active": False}}}]
    assert all(before <= line["time"] <= after for line in lines)
    assert spool.stat().st_mode & 0o777 == 0o600


def test_reporter_does_not_spool_what_it_sent_to_a_silent_daemon(short_dir: Path) -> None:
    """Sent but unanswered may mean applied: a copy replayed later could undo newer events."""
    spool = short_dir / "hooks.spool"
    ev = EventListener(short_dir / "d.sock", reply=False)
    try:
        command = reporter_command(ev.path, "ws:a", "Stop", timeout=0.3, spool=spool)
        proc, _ = run_hook(command, b'{"session_id": "s"}')
        wait_until(lambda: ev.events() == ["Stop"], what="the request")
    finally:
        ev.close()
    assert (proc.returncode, proc.stderr) == (0, b"")
    assert not spool.exists()


def test_concurrent_reporters_append_whole_lines(short_dir: Path) -> None:
    spool = short_dir / "hooks.spool"
    procs = [subprocess.Popen(["/bin/sh", "-c", reporter_command(
        short_dir / "none.sock", f"ws:a{n}", "PreToolUse", spool=spool)],
        stdin=subprocess.PIPE) for n in range(8)]
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(json.dumps({"session_id": "s", "message": "m" * 300}).encode())
        proc.stdin.close()
    assert [proc.wait(timeout=30) for proc in procs] == [0] * 8
    ids = sorted(line["request"]["params"]["id"] for line in spooled(spool))
    assert ids == sorted(f"ws:a{n}" for n in range(8))


def test_the_spool_is_bounded_and_keeps_room_for_more_than_tool_uses(short_dir: Path) -> None:
    spool = short_dir / "hooks.spool"
    spool.write_bytes(b"x" * (MAX_SPOOL // 2 - 1) + b"\n")
    spool.chmod(0o600)

    def report(event: str) -> None:
        command = reporter_command(short_dir / "none.sock", "ws:a", event, spool=spool)
        assert run_hook(command, b'{"session_id": "s"}')[0].returncode == 0

    report("PreToolUse")  # past half: tool uses, which matter least, are no longer kept
    assert spool.stat().st_size == MAX_SPOOL // 2
    report("Stop")
    size = spool.stat().st_size
    last = spool.read_bytes().splitlines()[-1]
    assert size > MAX_SPOOL // 2 and json.loads(last)["request"]["params"]["event"] == "Stop"
    with spool.open("ab") as f:
        f.write(b"x" * (MAX_SPOOL - size - 11) + b"\n")
    report("Stop")  # full: nothing more, whatever the event
    assert spool.stat().st_size == MAX_SPOOL - 10


def test_an_append_racing_a_daemons_take_goes_to_the_daemon_or_the_new_spool(
        short_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The daemon renames the spool between the reporter's open and its lock: the line must
    not land in the file the daemon has already read."""
    spool = short_dir / "hooks.spool"
    spool.write_bytes(b"")
    taken: list[Path | None] = []
    real_flock = fcntl.flock

    def flock_after_take(fd: int, op: int) -> None:
        if not taken:  # the first lock is the reporter's: the daemon takes the file first
            monkeypatch.setattr(fcntl, "flock", real_flock)
            taken.append(hook_spool.take(spool))
            taken_data.append(taken[0].read_bytes() if taken[0] else b"")
        real_flock(fd, op)

    taken_data: list[bytes] = []
    monkeypatch.setattr(fcntl, "flock", flock_after_take)
    line = report.request(b'{"session_id": "s"}', "ws:a", "Stop")
    report.deliver(str(short_dir / "none.sock"), str(spool), line, time.monotonic() + 1, 5.0)
    assert taken == [spool.with_name("hooks.spool.replaying")] and taken_data == [b""]
    assert spool.with_name("hooks.spool.replaying").read_bytes() == b""
    assert [entry["request"]["params"]["event"] for entry in spooled(spool)] == ["Stop"]
