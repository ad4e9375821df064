"""A client that goes away mid-call gives its slot back at once (issue 16, closing note).

A killed `wezparctl wait` used to keep its connection, one of the daemon's 128 client slots and
its file descriptor until the wait's own timeout (300 s by default): a loop of
`timeout 1 wezparctl wait ...` could lock every other client out with `busy`. Now a call that only
waits is dropped as soon as its client has hung up; a call that changes something still does
it; a client that only shut down its write side is still answered.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
from pathlib import Path
from typing import BinaryIO

import pytest

from tests.support import DaemonProcess, retry_until, script
from wezparallel.errors import RemoteError
from wezparallel.ipc.client import Client
from wezparallel.ipc.server import MAX_CLIENTS

WAIT = {"id": "w:agent", "until": "idle", "timeout": 300}
KILLED = 4  # real `wezparctl wait` processes among the clients that vanish


def conf(root: Path) -> dict[str, str]:
    """An agent whose activity never changes (its `claude` only sleeps), so `wait` waits."""
    (root / "work").mkdir()
    claude = root / "claude"
    claude.write_text("#!/bin/sh\nexec sleep 600\n")
    claude.chmod(0o755)
    return {"w.yaml": "workspace: w\nprocesses:\n"
                      f"  agent: {{cwd: {root / 'work'}, start_secs: 0, "
                      f"claude: {{binary: {claude}}}}}\n"
                      "  s: {command: [sleep, '600'], start_secs: 1, autostart: false}\n"
                      "  t: {command: [sleep, '600'], start_secs: 0}\n"}


def open_fds(pid: int) -> int:
    """The daemon's open sockets: its clients' connections (the first `logs -f` also opens
    a file watch for good, which is no connection's)."""
    fds = Path(f"/proc/{pid}/fd")
    links = []
    for fd in fds.iterdir():
        try:
            links.append(os.readlink(fd))
        except FileNotFoundError:  # closed while we looked
            continue
    return sum(link.startswith("socket:") for link in links)


def frame(method: str, params: dict[str, object]) -> bytes:
    return json.dumps({"id": 1, "method": method, "params": params}).encode() + b"\n"


def connect(path: Path, request: bytes) -> socket.socket:
    """A client that sent `request`; a connect that finds the listen backlog full (EAGAIN on
    a Unix socket, while the daemon accepts the clients before it) is tried again."""
    def attempt() -> socket.socket | None:
        c = socket.socket(socket.AF_UNIX)
        c.settimeout(10)
        try:
            c.connect(str(path))
        except BlockingIOError:
            c.close()
            return None
        return c
    c = retry_until(attempt, 10, 0.005, "room in the listen backlog")
    c.sendall(request)
    return c


def wezparctl_wait(d: DaemonProcess) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [script("wezparctl"), "--socket", str(d.socket), "wait", "w:agent", "--until", "idle",
         "--timeout", "300"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)


def first_event_of(lines: BinaryIO, pid: str) -> dict[str, object] | None:
    """The first live event about `pid` on a `subscribe` stream; None when the stream ends."""
    for line in iter(lines.readline, b""):
        item = json.loads(line).get("stream")
        if isinstance(item, dict) and item.get("id") == pid:
            return item
    return None


@pytest.fixture
def daemon(daemon_factory, tmp_path: Path) -> DaemonProcess:
    d: DaemonProcess = daemon_factory(conf(tmp_path)).start()
    d.wait_state("w:agent", "RUNNING")
    d.wait_state("w:t", "RUNNING")
    return d


def test_killed_waiting_clients_free_every_slot_at_once(daemon: DaemonProcess) -> None:
    """All slots held by waits (real `wezparctl wait` processes, raw waits, idle `subscribe`
    and `logs -f` streams); the clients are killed; the next client is served, not `busy`."""
    assert daemon.proc is not None
    pid = daemon.proc.pid
    baseline = open_fds(pid)
    killed = [wezparctl_wait(daemon) for _ in range(KILLED)]
    retry_until(lambda: open_fds(pid) >= baseline + KILLED, 30, 0.05, "the wezparctl waits")
    streams = [frame("subscribe", {"types": ["exited"], "patterns": ["w:nothing"]}),
               frame("logs", {"id": "w:agent", "lines": 0, "follow": True})] * 8
    waits = [frame("wait", WAIT)] * (MAX_CLIENTS - KILLED - len(streams))
    raw: list[socket.socket] = []
    try:
        raw.extend(connect(daemon.socket, request) for request in streams + waits)
        retry_until(lambda: open_fds(pid) >= baseline + MAX_CLIENTS, 30, 0.05, "full slots")
        with Client(daemon.socket) as late, pytest.raises(RemoteError) as refused:
            late.call("ping")
        assert refused.value.code == "busy"
    finally:
        for proc in killed:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        for c in raw:
            c.close()
    # before the fix the waits held their slots and sockets for 300 s: this timed out
    retry_until(lambda: open_fds(pid) <= baseline, 10, 0.05, "the daemon's sockets back to "
                "baseline")
    with Client(daemon.socket, timeout=5) as client:
        assert client.call("ping")["pong"] is True
    assert "Traceback" not in daemon.daemon_log()


def test_a_half_closed_client_is_answered_and_freed_when_it_goes(daemon: DaemonProcess) -> None:
    """shutdown(SHUT_WR) after the request is no hang-up: the answer still comes (a short
    wait, a live event on a stream); closing the socket afterwards is, and frees the slot."""
    assert daemon.proc is not None
    pid = daemon.proc.pid
    with connect(daemon.socket, frame("wait", {**WAIT, "timeout": 0.3})) as short:
        short.shutdown(socket.SHUT_WR)
        reply = json.loads(short.makefile("rb").readline())
    assert reply["error"]["code"] == "failed"
    assert "did not become idle within 0.3s" in reply["error"]["message"]

    with connect(daemon.socket, frame("subscribe", {"patterns": ["w:t"]})) as events:
        events.shutdown(socket.SHUT_WR)
        lines = events.makefile("rb")
        assert daemon.ctl("stop", "w:t").returncode == 0
        # before the fix the stream ended at the read side's EOF: no live event came
        assert first_event_of(lines, "w:t") is not None

    baseline = open_fds(pid)
    waiting = connect(daemon.socket, frame("wait", WAIT))
    waiting.shutdown(socket.SHUT_WR)
    retry_until(lambda: open_fds(pid) > baseline, 10, 0.05, "the half-closed wait held")
    waiting.close()
    # before the fix the wait went on for 300 s
    retry_until(lambda: open_fds(pid) <= baseline, 10, 0.05, "the half-closed wait freed")


def test_a_change_whose_client_vanished_still_takes_effect(daemon: DaemonProcess) -> None:
    """start and restart are sent, and their clients gone before the answer: both still
    happen (only pure waits are dropped on a hang-up, never a change already asked for)."""
    old = daemon.process("w:t")["pid"]
    for request in (frame("start", {"ids": ["w:s"]}), frame("restart", {"ids": ["w:t"]})):
        connect(daemon.socket, request).close()
    daemon.wait_state("w:s", "RUNNING")
    retry_until(lambda: (p := daemon.process("w:t"))["state"] == "RUNNING" and p["pid"] != old,
                15, 0.05, "w:t restarted")
