"""Issue 16.12: what vanished clients sent must not stay in the daemon's memory."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.support import DaemonProcess

ROUNDS, CLIENTS, FRAME = 4, 60, 1 << 20


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def send_and_vanish(path: Path, count: int) -> None:
    """`count` clients each send a 1 MB line without its newline, then hang up."""
    clients = []
    for _ in range(count):
        c = socket.socket(socket.AF_UNIX)
        c.settimeout(30)
        c.connect(str(path))
        clients.append(c)
    for c in clients:
        c.sendall(b"x" * FRAME)
    for c in clients:
        c.close()


def test_rss_comes_back_after_clients_that_sent_a_megabyte_and_left(daemon_factory) -> None:
    d: DaemonProcess = daemon_factory({"w.yaml": "workspace: w\nprocesses: {}\n"}).start()
    assert d.proc is not None
    before = rss_mb(d.proc.pid)
    for _ in range(ROUNDS):
        send_and_vanish(d.socket, CLIENTS)
        assert d.ctl("ping").returncode == 0  # every earlier connection has been answered
    after = rss_mb(d.proc.pid)
    # Before the fix each client's frame stayed reachable from a cycle: +240 MB or more here.
    assert after - before < 60, (before, after)
