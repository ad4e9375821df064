"""The control socket under hypothesis: odd frames, types, sizes, slow and vanishing clients.

Throughout, a client that stays connected asks for `status` after every example and must get
it promptly; every reply the fuzzing clients read must be a well-formed frame, and none may
be `internal` (a bug). `WEZPARALLEL_CHAOS_TRIALS` (see `make chaos`) raises the number of
examples.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fault.chaos import trials
from tests.support import DaemonProcess
from wezparallel.ipc.protocol import ERROR_CODES

CONF = {"w.yaml": "workspace: w\nprocesses:\n  a: {command: [sleep, '300']}\n"
                  "  b: {command: [sh, -c, 'echo hi; sleep 300']}\n"}
# Not fuzzed: `shutdown` ends the daemon, `workspace_create` writes workspace files, `wait`
# and `worktree_remove` are for agents; every other method is.
METHODS = ["status", "start", "stop", "restart", "logs", "plan", "reload", "templates",
           "metrics_history", "metrics_snapshot", "attach", "capture", "send", "ping",
           "agent_event", "worktree_list"]
KEYS = ["all", "enter", "environ", "event", "follow", "force", "id", "ids", "layout",
        "leave_running", "lines", "name", "patterns", "session_id", "since_seconds",
        "template", "text", "timeout", "until", "wait", "workspace"]
LATENCIES: list[float] = []
INPUTS = [0]

scalars = (st.none() | st.booleans() | st.integers(-2**70, 2**70)
           | st.floats(allow_nan=True, allow_infinity=True)
           | st.sampled_from(["w:a", "w:b", "w", "all", "w:*", "", "nope"])
           | st.text(max_size=30))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
params = (st.dictionaries(st.sampled_from(KEYS), values, min_size=1, max_size=3)
          | st.dictionaries(st.text(max_size=6), values, max_size=3))
requests = st.fixed_dictionaries({
    "id": st.none() | st.integers() | st.text(max_size=5) | values,
    "method": st.sampled_from(METHODS) | st.text(max_size=10),
    "params": params | values,
})
frames = st.one_of(
    requests.map(lambda r: json.dumps(r).encode()),
    requests.map(lambda r: json.dumps(r).encode()[: len(json.dumps(r)) // 2]),
    st.binary(max_size=3000),
    st.integers(1, 200_000).map(lambda n: b"[" * n),
    st.integers(1, 3 << 20).map(lambda n: b"x" * n),
    st.sampled_from([b"", b"\n", b"null", b"[]", b'"Ping"', b'{"Ping":{}}', b"\xff\xfe"]),
)
clients = st.lists(st.tuples(frames, st.sampled_from(["read", "vanish", "slow"])),
                   min_size=1, max_size=4)


class StatusProbe:
    """One connection kept for the whole run: a status round trip, timed."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(10)
        self.sock.connect(path)
        self.buf = b""

    def status(self) -> float:
        start = time.monotonic()
        self.sock.sendall(b'{"id": "probe", "method": "status"}\n')
        while b"\n" not in self.buf:
            chunk = self.sock.recv(1 << 16)
            assert chunk, "the daemon closed the status connection"
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        assert json.loads(line)["ok"] is True
        return time.monotonic() - start


@pytest.fixture(scope="module")
def daemon() -> Iterator[tuple[DaemonProcess, StatusProbe]]:
    d = DaemonProcess(CONF, watch=False).start()
    probe = StatusProbe(str(d.socket))
    yield d, probe
    probe.sock.close()
    d.cleanup()
    if LATENCIES:
        ordered = sorted(LATENCIES)
        print(f"\nsocket fuzz: {INPUTS[0]} frames in {len(LATENCIES)} examples; status "
              f"latency median {ordered[len(ordered) // 2] * 1000:.1f} ms, "
              f"max {ordered[-1] * 1000:.1f} ms")


def play(path: str, frame: bytes, how: str) -> list[bytes] | None:
    """One client: send the frame (and its newline unless it vanishes mid-frame); the reply
    lines, or None when there is no telling (it vanished, or a slow method took long)."""
    with socket.socket(socket.AF_UNIX) as c:
        c.settimeout(5)
        c.connect(path)
        data = frame + (b"" if how == "vanish" else b"\n")
        try:
            if how == "slow":
                for i in range(0, len(data), max(1, len(data) // 4)):
                    c.sendall(data[i:i + max(1, len(data) // 4)])
                    time.sleep(0.005)
            else:
                c.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            return None  # refused (too large) and closed on us: fine
        if how == "vanish":
            return None
        c.shutdown(socket.SHUT_WR)
        out = b""
        try:
            while chunk := c.recv(1 << 16):
                out += chunk
        except (TimeoutError, ConnectionResetError):
            return None  # a slow method (start waits for its outcome)
    return out.splitlines()


def check_reply(line: bytes) -> None:
    reply = json.loads(line)  # legacy clients get legacy shapes ("Pong"); ours get objects
    if isinstance(reply, dict) and reply.get("ok") is False and "error" in reply:
        assert reply["error"]["code"] in ERROR_CODES, line[:200]
        assert reply["error"]["code"] != "internal", line[:300]


@pytest.mark.timeout(60 + trials(60) // 5)  # `make chaos` raises the number of examples
@settings(max_examples=trials(60), deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(clients)
def test_hostile_clients_never_silence_the_daemon(daemon, script) -> None:  # type: ignore[no-untyped-def]
    d, probe = daemon
    for frame, how in script:
        INPUTS[0] += 1
        lines = play(str(d.socket), frame, how)
        if lines is None:
            continue
        assert lines or not frame.strip(), f"no reply to {frame[:80]!r}"
        for line in lines:
            check_reply(line)
    latency = probe.status()
    LATENCIES.append(latency)
    assert latency < 2.0, f"status took {latency:.2f}s"
    assert d.proc is not None and d.proc.poll() is None, "the daemon died"


def test_fuzzing_left_the_daemon_log_free_of_internal_errors(daemon) -> None:  # type: ignore[no-untyped-def]
    d, _ = daemon
    if os.environ.get("PYTEST_XDIST_WORKER"):
        pytest.fail("run this module in one process")
    assert "internal error" not in d.daemon_log()
