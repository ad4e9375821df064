"""Issue 16.13: hostile requests get an error reply of the right code, never silence."""

from __future__ import annotations

import json
import socket

import pytest

from tests.support import DaemonProcess

CONF = {"w.yaml": "workspace: w\nprocesses:\n  a: {command: [sleep, '300']}\n"}


def exchange(d: DaemonProcess, frame: bytes) -> dict[str, object]:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(str(d.socket))
        s.sendall(frame + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(65536)
            assert chunk, f"connection closed without a reply to {frame[:60]!r}"
            data += chunk
    return json.loads(data)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def daemon() -> object:
    d = DaemonProcess(CONF).start()
    yield d
    d.cleanup()


def test_deep_nesting_is_answered(daemon: DaemonProcess) -> None:
    reply = exchange(daemon, b"[" * 100_000)
    assert reply["ok"] is False and reply["error"]["code"] == "bad_request"  # type: ignore[index]


@pytest.mark.parametrize("params", [
    {"patterns": 5}, {"patterns": [1, 2]}, {"patterns": "w:a"},
])
def test_status_patterns_of_the_wrong_type(daemon: DaemonProcess, params: object) -> None:
    reply = exchange(daemon, json.dumps({"id": 1, "method": "status", "params": params}).encode())
    assert reply["error"]["code"] == "invalid_params"  # type: ignore[index]


@pytest.mark.parametrize("lines", ["NaN", "Infinity", "-Infinity", "-1", '"3"'])
def test_logs_lines_that_are_no_count(daemon: DaemonProcess, lines: str) -> None:
    frame = b'{"id": 1, "method": "logs", "params": {"id": "w:a", "lines": ' + \
        lines.encode() + b"}}"
    reply = exchange(daemon, frame)
    assert reply["error"]["code"] == "invalid_params"  # type: ignore[index]
