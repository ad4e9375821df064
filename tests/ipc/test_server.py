"""The server on a real Unix socket: permissions, framing, errors, concurrency, legacy, streams."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import stat
import threading

import pytest

from tests.ipc.conftest import Recorder, ServerThread, make_handlers, raw_exchange, read_lines
from tests.support import retry_until
from wezparallel.errors import IpcError, RemoteError
from wezparallel.ipc.client import Client
from wezparallel.ipc.hangup import cancel_on_hangup
from wezparallel.ipc.protocol import MAX_FRAME
from wezparallel.ipc.server import IpcServer
from wezparallel.ipc.socketfile import peer_uid


def test_socket_is_0600_in_a_0700_dir_and_removed_on_close(root, recorder) -> None:
    st = ServerThread(root, make_handlers(recorder)).start()
    try:
        assert stat.S_ISSOCK(os.lstat(st.path).st_mode)
        assert stat.S_IMODE(os.lstat(st.path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(st.path.parent).st_mode) == 0o700
    finally:
        st.stop()
    assert not st.path.exists()


def test_several_requests_on_one_connection_answered_in_order(served) -> None:
    frames = b"".join(json.dumps({"id": i, "method": "echo", "params": {"i": i}}).encode() + b"\n"
                      for i in range(5))
    replies = [json.loads(line) for line in raw_exchange(served.path, frames, 5)]
    assert replies == [{"id": i, "ok": True, "result": {"i": i}} for i in range(5)]
    with Client(served.path) as client:
        assert [client.call("echo", {"n": n}) for n in range(3)] == [{"n": 0}, {"n": 1}, {"n": 2}]


def test_twenty_clients_are_served_at_once(served) -> None:
    """Each call returns only when all 20 are inside the server together."""
    results: dict[int, object] = {}

    def one(i: int) -> None:
        with Client(served.path, timeout=30) as client:
            results[i] = client.call("gate", {"n": 20, "i": i})

    threads = [threading.Thread(target=one, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(40)
    assert results == {i: i for i in range(20)}


def test_oversized_frame_is_refused_without_stalling_anyone(served) -> None:
    with socket.socket(socket.AF_UNIX) as big:
        big.settimeout(10)
        big.connect(str(served.path))
        big.sendall(b'{"id": 1, "method": "echo", "params": {"x": "' + b"x" * (MAX_FRAME + 10))
        (refusal,) = read_lines(big, 1)  # answered before the line even ends
        assert json.loads(refusal) == {"id": None, "ok": False, "error": {
            "code": "frame_too_large",
            "message": f"frame over {MAX_FRAME} bytes; the rest of that line was discarded"}}
        with Client(served.path) as other:  # the big line is still open: others go on
            assert other.call("echo", {"a": 1}) == {"a": 1}
        big.sendall(b"x" * 300_000 + b'"}}\n{"id": 2, "method": "echo", "params": {"b": 2}}\n')
        (after,) = read_lines(big, 1)
        assert json.loads(after) == {"id": 2, "ok": True, "result": {"b": 2}}


def test_malformed_json_gets_an_error_and_the_connection_goes_on(served) -> None:
    lines = raw_exchange(served.path, b'not json\n{"id": 4, "method": "echo"}\n', 2)
    bad, good = (json.loads(line) for line in lines)
    assert bad["id"] is None and bad["ok"] is False
    assert bad["error"]["code"] == "bad_request" and "malformed JSON" in bad["error"]["message"]
    assert good == {"id": 4, "ok": True, "result": {}}


def test_envelope_error_keeps_the_request_id(served) -> None:
    (line,) = raw_exchange(served.path, b'{"id": 9, "method": "echo", "params": 3}\n', 1)
    assert json.loads(line) == {"id": 9, "ok": False, "error": {
        "code": "bad_request", "message": "'params' must be a JSON object"}}


def test_unknown_method(served) -> None:
    with Client(served.path) as client, pytest.raises(RemoteError) as info:
        client.call("nope")
    assert (info.value.code, info.value.message) == ("unknown_method", "unknown method 'nope'")


def test_remote_error_keeps_its_code(served) -> None:
    with Client(served.path) as client:
        with pytest.raises(RemoteError) as info:
            client.call("missing")
        assert (info.value.code, info.value.message) == ("not_found", "no process 'web:x'")
        assert client.call("echo", {"still": "here"}) == {"still": "here"}


def test_our_own_errors_are_a_clean_failure(served) -> None:
    with Client(served.path) as client, pytest.raises(RemoteError) as info:
        client.call("spawn_failure")
    assert (info.value.code, info.value.message) == ("failed", "no such program: nope")


def test_handler_bug_is_internal_logged_and_survived(served, caplog) -> None:
    caplog.set_level(logging.ERROR, logger="wezparallel.ipc.server")
    with Client(served.path) as client:
        with pytest.raises(RemoteError) as info:
            client.call("boom")
        assert info.value.code == "internal"
        assert "ValueError: kaboom" in info.value.message
        with pytest.raises(RemoteError) as info:
            client.call("unserialisable")
        assert info.value.code == "internal" and "TypeError" in info.value.message
        assert client.call("echo", {"ok": 1}) == {"ok": 1}
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert [r.exc_info[0] for r in tracebacks] == [ValueError, TypeError]  # type: ignore[index]


def test_second_server_on_a_live_socket_is_refused(served, recorder) -> None:
    second = IpcServer(served.path, make_handlers(recorder))
    with pytest.raises(IpcError, match="another wezparallel daemon is already running on"):
        served.run(second.start())
    with Client(served.path) as client:  # the first one was not disturbed
        assert client.call("echo", {"x": 1}) == {"x": 1}


def test_stale_socket_is_replaced(root, recorder) -> None:
    path = root / "run" / "s.sock"
    path.parent.mkdir(mode=0o700)
    leftover = socket.socket(socket.AF_UNIX)
    leftover.bind(str(path))
    leftover.close()  # a dead daemon: the file stays, nobody listens
    assert path.exists()
    st = ServerThread(root, make_handlers(recorder)).start()
    try:
        with Client(st.path) as client:
            assert client.call("echo", {"x": 2}) == {"x": 2}
    finally:
        st.stop()


def test_a_regular_file_in_the_way_is_not_deleted(root, recorder) -> None:
    path = root / "run" / "s.sock"
    path.parent.mkdir(mode=0o700)
    path.write_text("precious")
    st = ServerThread(root, make_handlers(recorder))
    try:
        with pytest.raises(IpcError, match="exists and is not a socket"):
            st.start()
    finally:
        st.stop()
    assert path.read_text() == "precious"


def test_peer_uid_is_read_from_the_kernel(root) -> None:
    a, b = socket.socketpair(socket.AF_UNIX)
    with a, b:
        assert peer_uid(a) == os.getuid()


def test_other_users_are_refused(served) -> None:
    """The real SO_PEERCRED path: our own uid is made the 'other' one."""
    served.server.allowed_uid = os.getuid() + 1
    (line,) = raw_exchange(served.path, b'{"id": 1, "method": "echo"}\n', 1)
    assert json.loads(line) == {"id": None, "ok": False, "error": {
        "code": "forbidden", "message": f"uid {os.getuid()} may not use this daemon's socket"}}
    with Client(served.path) as client, pytest.raises(RemoteError) as info:
        client.call("echo")
    assert info.value.code == "forbidden"


@pytest.mark.parametrize("ping", [b'"Ping"', b'{"Ping":{}}', b'{"Ping":null}'])
def test_legacy_ping(served, ping: bytes) -> None:
    assert raw_exchange(served.path, ping + b"\n", 1) == [b'"Pong"']


def test_legacy_ping_without_newline_then_hangup(served) -> None:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(str(served.path))
        s.sendall(b'{"Ping":null}')
        s.shutdown(socket.SHUT_WR)
        assert read_lines(s, 2) == [b'"Pong"']


def test_legacy_workspace_create_and_template_list(served, recorder: Recorder) -> None:
    lines = raw_exchange(served.path, b'{"WorkspaceCreate":{"name":"test","template":"basic"}}\n'
                         b'"TemplateList"\n', 2)
    assert [json.loads(line) for line in lines] == [
        {"processes": [{"id": "test:shell"}]},
        {"templates": [{"name": "basic", "description": "one shell"}]}]
    assert recorder.calls == [("workspace_create", {"name": "test", "template": "basic"}),
                              ("templates", {})]


def test_legacy_errors_are_error_objects(served) -> None:
    lines = raw_exchange(served.path, b'{"WorkspaceCreate":{"name":"t","template":"nope"}}\n'
                         b'"GetStatus"\n', 2)
    assert [json.loads(line) for line in lines] == [
        {"Error": "no template 'nope'"},
        {"Error": "unsupported wezterm-parallel message 'GetStatus'"}]


def test_stream_items_then_end(served) -> None:
    frame = b'{"id": 5, "method": "count", "params": {"n": 3}}\n'
    replies = [json.loads(line) for line in raw_exchange(served.path, frame, 4)]
    assert replies == [{"id": 5, "ok": True, "stream": 0}, {"id": 5, "ok": True, "stream": 1},
                       {"id": 5, "ok": True, "stream": 2},
                       {"id": 5, "ok": True, "result": None, "end": True}]


def test_a_stream_ends_when_its_client_hangs_up(served, recorder: Recorder) -> None:
    with Client(served.path, timeout=10) as client:
        items = client.stream("follow")
        assert next(items) == "first"
        items.close()  # like Ctrl-C on `wezparctl logs -f`
    assert recorder.stream_closed.wait(10), "the server kept a stream for a client that left"
    with Client(served.path) as client:
        assert client.call("echo", {"after": 1}) == {"after": 1}


def test_close_ends_open_connections_and_streams(root, recorder: Recorder) -> None:
    st = ServerThread(root, make_handlers(recorder)).start()
    idle = Client(st.path)
    streaming = Client(st.path)
    try:
        assert idle.call("echo") == {}
        items = streaming.stream("follow")
        assert next(items) == "first"
        st.stop()  # must not wait for the idle client or the endless stream
        assert recorder.stream_closed.is_set()
        assert not st.path.exists()
        with pytest.raises(IpcError, match="closed the connection"):
            next(items)
        with pytest.raises(IpcError):
            idle.call("echo")
    finally:
        idle.close()
        streaming.close()


def test_a_client_that_is_not_read_cannot_make_the_server_hold_much(served) -> None:
    """Issue 16.12: 32 queued frames of 1 MiB each were 32 MiB held for one client."""
    frame = json.dumps({"id": 2, "method": "echo",
                        "params": {"x": "y" * (MAX_FRAME - 100)}}).encode() + b"\n"
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(served.path))
        s.sendall(b'{"id": 1, "method": "sleep", "params": {"seconds": 10}}\n')
        s.settimeout(1.0)
        sent = 0
        with contextlib.suppress(TimeoutError):
            for _ in range(40):
                s.sendall(frame)
                sent += 1
    # the 2 MiB queued + one frame being read + socket buffers (under 1 MiB here)
    assert sent < 5, sent


def test_a_hang_up_cancels_a_pure_wait_but_not_a_change(root) -> None:
    """A call marked cancel_on_hangup ends when its client closes; one that changes something
    runs to its end with nobody left to read the answer; a half-close cancels nothing."""
    cancelled, changed = threading.Event(), threading.Event()

    async def parked(params: dict[str, object]) -> object:
        try:
            await asyncio.Event().wait()
        finally:
            cancelled.set()

    async def change(params: dict[str, object]) -> object:
        await asyncio.sleep(0.2)
        changed.set()
        return {}

    async def slow_wait(params: dict[str, object]) -> object:
        await asyncio.sleep(0.2)
        return {"waited": True}

    st = ServerThread(root, {"parked": cancel_on_hangup(parked), "change": change,
                             "slow_wait": cancel_on_hangup(slow_wait)}).start()
    try:
        with socket.socket(socket.AF_UNIX) as half:
            half.settimeout(10)
            half.connect(str(st.path))
            half.sendall(b'{"id": 1, "method": "slow_wait"}\n')
            half.shutdown(socket.SHUT_WR)
            assert json.loads(read_lines(half, 1)[0])["result"] == {"waited": True}
        for method in ("parked", "change"):
            with socket.socket(socket.AF_UNIX) as gone:
                gone.connect(str(st.path))
                gone.sendall(b'{"id": 1, "method": "%s"}\n' % method.encode())
        assert cancelled.wait(10), "the wait went on after its client hung up"
        assert changed.wait(10), "the change was cut short"
        retry_until(lambda: not st.server._connections, 10, 0.02, "no connection left")
    finally:
        st.stop()
