"""The control socket's wire format, shared by the daemon's server and `wezparctl`'s client.

Newline-delimited JSON (see docs/protocol.md, the one place it is described for humans). Kept
to the standard library and free of asyncio: `wezparctl status` imports this on every run and
must start fast. Everything here is pure: bytes in, values out, so the framing rules are tested
without a socket.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

MAX_FRAME = 1 << 20
"""Largest request frame in bytes, newline excluded. Bigger ones get `frame_too_large`."""

MAX_REPLY_FRAME = 64 << 20
"""Largest reply the client accepts; replies (a long `logs -n`) may exceed MAX_FRAME."""

# Error codes: the `code` of an error reply. Clients branch on these, never on messages.
BAD_REQUEST = "bad_request"          # not JSON, not an object, no method, params not an object
UNKNOWN_METHOD = "unknown_method"    # no handler by that name
NOT_FOUND = "not_found"              # the request names something that does not exist
FRAME_TOO_LARGE = "frame_too_large"  # a frame over MAX_FRAME; the rest of its line is dropped
INVALID_PARAMS = "invalid_params"    # params of the wrong shape for the method
FAILED = "failed"                    # the operation was understood but did not succeed
INTERNAL = "internal"                # a bug in the daemon; its log has the traceback
FORBIDDEN = "forbidden"              # the peer runs as another user
BUSY = "busy"                        # too many clients (or open files): try again later

ERROR_CODES = (BAD_REQUEST, UNKNOWN_METHOD, NOT_FOUND, FRAME_TOO_LARGE, INVALID_PARAMS, FAILED,
               INTERNAL, FORBIDDEN, BUSY)


class ProtocolViolation(Exception):
    """A request that cannot be dispatched; becomes an error reply, never leaves the ipc layer."""

    def __init__(self, code: str, message: str, request_id: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id


@dataclass(frozen=True)
class Request:
    """One decoded request: `{"id": 1, "method": "status", "params": {}}`."""

    id: Any
    method: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Oversized:
    """Stands in the frame sequence for a line longer than the limit, which was dropped."""


def encode(message: Any) -> bytes:
    """One frame: compact JSON and the newline that ends it (raises TypeError if not JSON-able)."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def decode(frame: bytes) -> Any:
    """The JSON value of a frame; raises ProtocolViolation(bad_request) when it is not JSON.

    The error is raised outside the `except` block on purpose: raising inside it would leave
    this frame holding the decoder's exception, whose traceback holds this frame (and the
    decoder's exception its whole document): a reference cycle that kept every bad frame in
    memory until the cyclic collector happened to run (issue 16.12).
    """
    problem = _decode_problem(frame)
    if isinstance(problem, str):
        raise ProtocolViolation(BAD_REQUEST, problem)
    return problem.value


@dataclass(frozen=True)
class _Decoded:
    value: Any


def _decode_problem(frame: bytes) -> _Decoded | str:
    try:
        return _Decoded(json.loads(frame))
    except RecursionError:
        return "malformed JSON: nested too deeply"
    except (UnicodeDecodeError, ValueError) as exc:
        return f"malformed JSON: {exc}"


def to_request(message: Any) -> Request:
    """Check the envelope of a decoded (non-legacy) request."""
    if not isinstance(message, dict):
        raise ProtocolViolation(BAD_REQUEST, "a request must be a JSON object")
    request_id = message.get("id")
    if not (request_id is None or isinstance(request_id, (str, int))) or isinstance(
            request_id, bool):
        raise ProtocolViolation(BAD_REQUEST, "'id' must be a string, an integer or null")
    method = message.get("method")
    if not isinstance(method, str) or not method:
        raise ProtocolViolation(BAD_REQUEST, "'method' must be a non-empty string", request_id)
    params = message.get("params")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ProtocolViolation(BAD_REQUEST, "'params' must be a JSON object", request_id)
    return Request(request_id, method, params)


def ok_reply(request_id: Any, result: Any) -> dict[str, Any]:
    return {"id": request_id, "ok": True, "result": result}


def error_reply(request_id: Any, code: str, message: str) -> dict[str, Any]:
    return {"id": request_id, "ok": False, "error": {"code": code, "message": message}}


def stream_reply(request_id: Any, item: Any) -> dict[str, Any]:
    return {"id": request_id, "ok": True, "stream": item}


def end_reply(request_id: Any) -> dict[str, Any]:
    return {"id": request_id, "ok": True, "result": None, "end": True}


class FrameBuffer:
    """Splits a byte stream into newline-ended frames, dropping lines longer than `limit`.

    An oversized line is reported (as `Oversized`) as soon as it passes the limit, not when its
    newline finally arrives, and the rest of it is skipped while it streams in: memory stays
    bounded and the connection goes on with the next line.
    """

    def __init__(self, limit: int = MAX_FRAME) -> None:
        self.limit = limit
        self._buf = bytearray()
        self._scanned = 0  # bytes of _buf already known to hold no newline
        self._skipping = False

    def feed(self, data: bytes) -> list[bytes | Oversized]:
        self._buf += data
        out: list[bytes | Oversized] = []
        while True:
            newline = self._buf.find(b"\n", self._scanned)
            if self._skipping:
                if newline < 0:
                    self._buf.clear()
                    self._scanned = 0
                    return out
                self._consume(newline)
                self._skipping = False
                continue
            if newline < 0:
                self._scanned = len(self._buf)
                if len(self._buf) > self.limit:
                    out.append(Oversized())
                    self._buf.clear()
                    self._scanned = 0
                    self._skipping = True
                return out
            frame = bytes(self._buf[:newline])
            self._consume(newline)
            self._emit(frame, out)

    def eof(self) -> list[bytes | Oversized]:
        """A last frame the peer sent without its newline before closing, if any."""
        frame, skipping = bytes(self._buf), self._skipping
        self._buf.clear()
        self._scanned, self._skipping = 0, False
        out: list[bytes | Oversized] = []
        if not skipping:
            self._emit(frame, out)
        return out

    def _consume(self, newline: int) -> None:
        del self._buf[:newline + 1]
        self._scanned = 0

    def _emit(self, frame: bytes, out: list[bytes | Oversized]) -> None:
        if len(frame) > self.limit:
            out.append(Oversized())
        elif frame.strip():  # blank lines (a stray newline from `nc`) are not requests
            out.append(frame)
