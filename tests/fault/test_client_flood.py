"""Issue 16.11: a flood of idle clients under a low open-files limit neither fills the log nor
keeps a crashed process from being restarted; the clients beyond the cap are told why."""

from __future__ import annotations

import json
import os
import resource
import signal
import socket
import time

from tests.fault.chaos import census
from tests.support import DaemonProcess, retry_until

MARK = "flood-0123456789"
CONF = {"w.yaml": "workspace: w\nprocesses:\n  a:\n    command: [sleep, '300']\n"
                  "    restart: always\n    start_secs: 0\n"
                  f"    env: {{FAULT_MARK: {MARK}, FAULT_NAME: 'w:a', FAULT_GEN: '0'}}\n"}
CLIENTS = 400


def low_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (200, 200))


def flood(path: str) -> list[socket.socket]:
    """CLIENTS connections; a connect that finds the listen backlog full is tried again."""
    clients: list[socket.socket] = []
    for _ in range(CLIENTS * 20):
        if len(clients) == CLIENTS:
            break
        c = socket.socket(socket.AF_UNIX)
        c.settimeout(5)
        try:
            c.connect(path)
        except OSError:
            c.close()
            time.sleep(0.005)
            continue
        clients.append(c)
    return clients


def refusals(clients: list[socket.socket]) -> list[dict[str, object]]:
    out = []
    for c in clients:
        c.settimeout(0.05)
        try:
            data = c.recv(65536)
        except (TimeoutError, OSError):
            continue
        if data:
            out.append(json.loads(data.splitlines()[0]))
    return out


def test_a_flood_of_clients_is_capped_and_spawning_goes_on(daemon_factory) -> None:
    d: DaemonProcess = daemon_factory(CONF)
    d.preexec = low_limit
    d.start()
    first = d.wait_state("w:a", "RUNNING")["pid"]
    clients = flood(str(d.socket))
    try:
        refused = retry_until(lambda: refusals(clients), 20, 0.1, "a refusal")
        assert refused[0]["error"]["code"] == "busy"  # type: ignore[index]
        assert "file descriptors" in refused[0]["error"]["message"] or \
            "clients at once" in refused[0]["error"]["message"]  # type: ignore[index]
        os.kill(first, signal.SIGKILL)  # restarted while the clients hold on
        retry_until(lambda: [p for p, _ in census(MARK).get("w:a", []) if p != first], 20,
                    0.05, "the restarted process")
    finally:
        for c in clients:
            c.close()
    st = retry_until(lambda: (p := d.process("w:a"))["state"] == "RUNNING"
                     and p["pid"] != first and p, 20, 0.1, "w:a RUNNING again")
    assert st["restarts"] >= 1
    assert d.log.stat().st_size < 1_000_000, "the log grew under the flood"
