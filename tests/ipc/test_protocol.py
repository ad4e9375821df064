"""The pure parts of the protocol: framing, the request envelope, legacy translation, peers."""

from __future__ import annotations

import gc
import json
import os

import pytest

from wezparallel.ipc import legacy
from wezparallel.ipc import protocol as p
from wezparallel.ipc.socketfile import peer_allowed


def test_frames_split_on_newlines_across_chunks() -> None:
    buf = p.FrameBuffer()
    assert buf.feed(b'{"a":') == []
    assert buf.feed(b'1}\n{"b":2}\n{"c"') == [b'{"a":1}', b'{"b":2}']
    assert buf.feed(b":3}\n") == [b'{"c":3}']


def test_blank_lines_are_not_frames() -> None:
    assert p.FrameBuffer().feed(b'\n  \r\n"Ping"\r\n') == [b'"Ping"\r']


def test_a_last_frame_without_newline_is_delivered_at_eof() -> None:
    buf = p.FrameBuffer()
    assert buf.feed(b'"Ping"') == []
    assert buf.eof() == [b'"Ping"']
    assert buf.eof() == []


def test_limit_is_inclusive() -> None:
    buf = p.FrameBuffer(limit=4)
    assert buf.feed(b"1234\n") == [b"1234"]
    out = buf.feed(b"12345\n1\n")
    assert isinstance(out[0], p.Oversized) and out[1:] == [b"1"]


def test_oversized_line_is_reported_early_and_its_rest_discarded() -> None:
    buf = p.FrameBuffer(limit=10)
    first = buf.feed(b"x" * 11)  # no newline yet: reported at once, not at the newline
    assert len(first) == 1 and isinstance(first[0], p.Oversized)
    assert buf.feed(b"y" * 1000) == []
    assert buf.feed(b"zz\nnext\n") == [b"next"]
    assert buf.eof() == []


def test_oversized_line_at_eof_is_not_reported_twice() -> None:
    buf = p.FrameBuffer(limit=3)
    assert len(buf.feed(b"abcdef")) == 1
    assert buf.eof() == []


def test_encode_is_one_compact_line() -> None:
    data = p.encode(p.ok_reply(1, {"text": "a\nb", "é": 1}))
    assert data.endswith(b"\n") and data.count(b"\n") == 1
    assert json.loads(data) == {"id": 1, "ok": True, "result": {"text": "a\nb", "é": 1}}


def test_reply_shapes() -> None:
    assert p.error_reply(None, p.NOT_FOUND, "no process 'web:x'") == {
        "id": None, "ok": False, "error": {"code": "not_found", "message": "no process 'web:x'"}}
    assert p.stream_reply(3, "line") == {"id": 3, "ok": True, "stream": "line"}
    assert p.end_reply(3) == {"id": 3, "ok": True, "result": None, "end": True}


@pytest.mark.parametrize("frame", [b"not json", b'{"id": 1,', b"\xff\xfe"])
def test_malformed_json_is_a_bad_request(frame: bytes) -> None:
    with pytest.raises(p.ProtocolViolation) as info:
        p.decode(frame)
    assert info.value.code == p.BAD_REQUEST and "malformed JSON" in info.value.message


@pytest.mark.parametrize(("message", "fragment", "request_id"), [
    ([1, 2], "JSON object", None),
    ({"id": 1}, "'method'", 1),
    ({"id": "a", "method": ""}, "'method'", "a"),
    ({"id": 2, "method": "x", "params": [1]}, "'params'", 2),
    ({"id": True, "method": "x"}, "'id'", None),
    ({"id": [1], "method": "x"}, "'id'", None),
])
def test_envelope_errors_name_the_field(message: object, fragment: str,
                                        request_id: object) -> None:
    with pytest.raises(p.ProtocolViolation) as info:
        p.to_request(message)
    assert info.value.code == p.BAD_REQUEST and fragment in info.value.message
    assert info.value.request_id == request_id


def test_request_defaults() -> None:
    assert p.to_request({"method": "status"}) == p.Request(None, "status", {})
    assert p.to_request({"id": 7, "method": "logs", "params": {"id": "a:b"}}) == p.Request(
        7, "logs", {"id": "a:b"})


def test_error_codes_are_distinct() -> None:
    assert len(set(p.ERROR_CODES)) == len(p.ERROR_CODES) == 9


@pytest.mark.parametrize("message", ["Ping", {"Ping": {}}, {"Ping": None}])
def test_legacy_ping_is_answered_without_a_method(message: object) -> None:
    assert legacy.is_legacy(message)
    assert legacy.translate(message) == legacy.LegacyCall(None, answer="Pong")


def test_legacy_calls_map_to_methods() -> None:
    assert legacy.translate("TemplateList") == legacy.LegacyCall("templates")
    assert legacy.translate({"WorkspaceCreate": {"name": "test", "template": "basic"}}) == (
        legacy.LegacyCall("workspace_create", {"name": "test", "template": "basic"}))
    assert legacy.translate({"WorkspaceCreate": {"name": "t"}}) == (
        legacy.LegacyCall("workspace_create", {"name": "t", "template": None}))
    assert legacy.translate({"TaskQueue": {"id": "task-001", "priority": 5,
                                           "command": "build project"}}) == (
        legacy.LegacyCall("task_add", {"title": "build project", "body": "", "priority": 5,
                                       "placed": False}))
    long = "fix the parser\nand add a test"  # the first line titles it, the body is all of it
    assert legacy.translate({"TaskQueue": {"id": "x", "priority": 0, "command": long}}) == (
        legacy.LegacyCall("task_add", {"title": "fix the parser", "body": long, "priority": 0,
                                       "placed": False}))


@pytest.mark.parametrize(("message", "fragment"), [
    ("GetStatus", "unsupported wezterm-parallel message 'GetStatus'"),
    ({"WorkspaceCreate": "x"}, "needs an object"),
    ({"WorkspaceCreate": {"template": "basic"}}, "'name'"),
    ({"WorkspaceCreate": {"name": "a", "template": 3}}, "'template'"),
    ({"Ping": {"x": 1}}, "unsupported"),
    ({"TaskQueue": {"id": "a", "priority": 1}}, "'command'"),
    ({"TaskQueue": {"id": "a", "priority": 300, "command": "x"}}, "from 0 to 255"),
])
def test_legacy_problems_are_messages(message: object, fragment: str) -> None:
    why = legacy.translate(message)
    assert isinstance(why, str) and fragment in why
    assert legacy.error_reply(why) == {"Error": why}


@pytest.mark.parametrize("message", [{"id": 1, "method": "ping"}, {"method": "x"}, "ping", 3,
                                     None, {"ping": {}}])
def test_our_requests_are_not_legacy(message: object) -> None:
    assert not legacy.is_legacy(message)


def test_peer_decision() -> None:
    me = os.getuid()
    assert peer_allowed(me, me)
    assert not peer_allowed(me + 1, me)
    assert not peer_allowed(0, 1000)  # not even root: the daemon is one user's
    assert peer_allowed(None, me)  # no SO_PEERCRED on this platform: the 0700 dir decides


def _decode_fails(frame: bytes) -> str:
    try:
        p.decode(frame)
    except p.ProtocolViolation as bad:
        return bad.code
    return "decoded"


def test_deep_nesting_is_a_bad_request_not_a_crash() -> None:
    assert _decode_fails(b"[" * 100_000) == p.BAD_REQUEST
    assert _decode_fails(b'{"a":' * 50_000) == p.BAD_REQUEST


def test_a_bad_frame_leaves_no_reference_cycle() -> None:
    """Issue 16.12: each refused frame stayed in memory (frame <-> exception cycle) until the
    cyclic collector ran, which few allocations on the daemon made rare: 2.35 GB after 1,800
    bad 1 MB frames."""
    gc.collect()
    gc.disable()
    try:
        for frame in (b"x" * 1000, b"{" * 10, b"[" * 100_000, b"\xff\xfe"):
            assert _decode_fails(frame) == p.BAD_REQUEST
        assert gc.collect() == 0
    finally:
        gc.enable()
