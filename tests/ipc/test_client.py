"""The blocking client: results, errors, streams, and what it says when things go wrong."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from wezparallel.errors import DaemonUnreachable, IpcError, RemoteError
from wezparallel.ipc.client import Client
from wezparallel.ipc.protocol import MAX_FRAME


def test_nothing_there_is_unreachable(root: Path) -> None:
    path = root / "none.sock"
    with Client(path) as client, pytest.raises(DaemonUnreachable) as info:
        client.call("ping")
    assert info.value.socket_path == str(path) and info.value.reason == "no socket file"
    assert "start one with `wezparallel`" in str(info.value)


def test_stale_socket_is_unreachable(root: Path) -> None:
    path = root / "stale.sock"
    leftover = socket.socket(socket.AF_UNIX)
    leftover.bind(str(path))
    leftover.close()
    with Client(path) as client, pytest.raises(DaemonUnreachable, match="stale"):
        client.call("ping")


def test_missing_directory_is_unreachable(root: Path) -> None:
    with pytest.raises(DaemonUnreachable):
        Client(root / "no" / "such" / "dir.sock").call("ping")


def test_stream_then_calls_on_the_same_connection(served) -> None:
    with Client(served.path) as client:
        assert list(client.stream("count", {"n": 4})) == [0, 1, 2, 3]
        assert client.call("echo", {"a": 1}) == {"a": 1}
        assert list(client.stream("echo", {"plain": True})) == [{"plain": True}]
        assert list(client.stream("count", {"n": 0})) == []


def test_stream_failure_is_a_remote_error_after_its_items(served) -> None:
    seen = []
    with Client(served.path) as client, pytest.raises(RemoteError) as info:
        for item in client.stream("count", {"n": 2, "fail": True}):
            seen.append(item)
    assert seen == [0, 1] and (info.value.code, info.value.message) == ("failed",
                                                                          "the stream broke")


def test_call_on_a_streaming_method_says_so(served) -> None:
    with Client(served.path) as client:
        with pytest.raises(IpcError, match="answers with a stream"):
            client.call("count", {"n": 2})
        assert client.call("echo", {"fresh": 1}) == {"fresh": 1}  # reconnects


def test_timeout_is_an_ipc_error_not_a_hang(served) -> None:
    with Client(served.path, timeout=0.3) as client, pytest.raises(IpcError) as info:
        client.call("sleep", {"seconds": 30})
    assert str(info.value) == "the daemon did not answer 'sleep' within 0.3 s"
    assert not isinstance(info.value, (DaemonUnreachable, RemoteError))


def test_too_large_request_is_refused_before_sending(root: Path) -> None:
    with pytest.raises(IpcError, match=f"the limit is {MAX_FRAME}"):
        Client(root / "none.sock").call("echo", {"x": "x" * MAX_FRAME})


def test_params_must_be_json(root: Path) -> None:
    with pytest.raises(IpcError, match="params are not JSON"):
        Client(root / "none.sock").call("echo", {"x": object()})


@pytest.fixture
def fake_daemon(root: Path) -> Iterator[tuple[Path, list[bytes]]]:
    """A socket that answers every request with the next canned line (a broken daemon)."""
    path = root / "fake.sock"
    answers: list[bytes] = []
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.listen()
    listener.settimeout(10)

    def serve() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            conn.recv(65536)
            if answers:
                conn.sendall(answers.pop(0))

    thread = threading.Thread(target=serve)
    thread.start()
    yield path, answers
    with socket.socket(socket.AF_UNIX) as poke:  # release an accept() nobody used
        poke.connect(str(path))
    thread.join(10)
    listener.close()


@pytest.mark.parametrize(("answer", "fragment"), [
    (b"garbage\n", "malformed JSON"),
    (b'{"id": 1}\n', "not a reply"),
    (b'{"id": 99, "ok": true, "result": 1}\n', "answered request 99 while 1"),
    (b"", "closed the connection without answering 'ping'"),
])
def test_protocol_breakage_is_an_ipc_error(fake_daemon, answer: bytes, fragment: str) -> None:
    path, answers = fake_daemon
    answers.append(answer)
    with Client(path) as client, pytest.raises(IpcError, match=fragment) as info:
        client.call("ping")
    assert not isinstance(info.value, RemoteError)


def test_client_import_stays_light() -> None:
    code = ("import sys, wezparallel.ipc.client; "
            "print(sorted(m for m in ('asyncio', 'jsonschema', 'watchdog', 'psutil', 'yaml', "
            "'click', 'wezparallel.ipc.server') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=30, check=True)
    assert out.stdout.strip() == "[]"
