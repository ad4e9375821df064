"""`subscribe` on the real socket: snapshot first, filters, and a subscriber that never reads."""

from __future__ import annotations

import json
import socket
import time
from typing import Any

from tests.events.test_events_e2e import LOOP, LOOPS, _follower, _read_until_seq, events
from tests.support import retry_until


def _subscribe(path: str, params: dict[str, Any]) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX)
    sock.settimeout(20)
    sock.connect(path)
    sock.sendall(json.dumps({"id": 1, "method": "subscribe", "params": params}).encode()
                 + b"\n")
    return sock


def _read_to_end(sock: socket.socket) -> list[dict[str, Any]]:
    """Every reply up to the stream's end frame."""
    data = b""
    while not data.endswith(b'"end":true}\n'):
        chunk = sock.recv(1 << 16)
        assert chunk, "the daemon closed the connection before the stream's end"
        data += chunk
    return [json.loads(line) for line in data.splitlines()]


def _read_lines(sock: socket.socket, n: int) -> list[dict[str, Any]]:
    data = b""
    while data.count(b"\n") < n:
        chunk = sock.recv(1 << 16)
        assert chunk, "the daemon closed the stream"
        data += chunk
    return [json.loads(line) for line in data.splitlines()[:n]]


def test_snapshot_first_then_filtered_live_events(daemon_factory) -> None:
    d = daemon_factory({"w.yaml": "workspace: w\nprocesses:\n"
                        "  a: {command: sleep 600, start_secs: 0}\n"
                        "  b: {command: sleep 600, start_secs: 0}\n"}).start()
    d.wait_state("w:a", "RUNNING")
    with _subscribe(str(d.socket), {"patterns": ["w:b"], "types": ["state"]}) as sock:
        (snap,) = _read_lines(sock, 1)
        assert snap["ok"] and snap["stream"]["type"] == "snapshot"
        assert [p["id"] for p in snap["stream"]["status"]["processes"]] == ["w:b"]
        assert snap["stream"]["seq"] == events(d)[-1]["seq"]
        assert d.ctl("restart", "w:a", "w:b").returncode == 0
        live = [r["stream"] for r in _read_lines(sock, 3)[1:]]
    assert {e["id"] for e in live} == {"w:b"} and all(e["type"] == "state" for e in live)
    assert live[0]["seq"] > snap["stream"]["seq"]


def test_bad_subscribe_params_are_a_clear_error(daemon_factory) -> None:
    d = daemon_factory({}).start()
    with _subscribe(str(d.socket), {"types": ["nope"]}) as sock:
        (reply,) = _read_lines(sock, 1)
    assert reply["ok"] is False and reply["error"]["code"] == "invalid_params"
    assert "'types' must be a list of: state, activity" in reply["error"]["message"]


def test_a_subscriber_that_never_reads_is_dropped_with_lagged(daemon_factory) -> None:
    conf = LOOPS.format(procs="".join(LOOP.format(i=i) for i in range(3)))
    d = daemon_factory({"loop.yaml": conf}).start()
    follower = _follower(d)
    slow = _subscribe(str(d.socket), {"queue": 10})
    try:
        assert d.ctl("start", "--no-wait", "loop").returncode == 0
        slowest = 0.0

        def dropped() -> bool:
            nonlocal slowest
            began = time.monotonic()
            assert d.ctl("status").returncode == 0
            slowest = max(slowest, time.monotonic() - began)
            return "fell 10 events behind" in d.daemon_log()

        retry_until(dropped, 90, 0.2, "the slow subscriber to be dropped")
        assert d.ctl("stop", "loop").returncode == 0
        last = events(d)[-1]["seq"]
        got = _read_until_seq(follower, last)  # the other subscriber lost nothing
        assert [e["seq"] for e in got] == list(range(1, last + 1))
        replies = _read_to_end(slow)  # now it reads: what was queued, `lagged`, the end
    finally:
        slow.close()
        follower.terminate()
        follower.communicate(timeout=10)
    assert slowest < 5.0  # status answered while the slow one was stuck (generous for CI)
    items = [r["stream"] for r in replies if "stream" in r]
    assert items[0]["type"] == "snapshot" and replies[-1].get("end") is True
    lagged = items[-1]
    assert lagged["type"] == "lagged"
    seqs = [e["seq"] for e in items[1:-1]]
    assert seqs == list(range(items[0]["seq"] + 1, items[0]["seq"] + 1 + len(seqs)))
    assert lagged["seq"] == seqs[-1] < last
