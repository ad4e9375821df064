"""`wezparctl`'s end of the control socket: blocking, standard library only.

A command makes one or two calls and exits, so a plain blocking socket is all it needs; not
importing asyncio (or anything heavy) keeps `wezparctl status` quick to start. One connection
carries any number of calls, one after the other.
"""

from __future__ import annotations

import json
import os
import socket
from collections import deque
from collections.abc import Iterator
from typing import Any

from wezparallel.errors import DaemonUnreachable, IpcError, RemoteError
from wezparallel.ipc import protocol as p

RECV_CHUNK = 64 * 1024


class Client:
    """Calls methods on the daemon listening at `socket_path`.

    `timeout` bounds each wait for the daemon, in seconds (None: wait forever, for `logs -f`).
    The connection is opened by the first call, so building a Client never fails.
    """

    def __init__(self, socket_path: str | os.PathLike[str], timeout: float | None = 10.0) -> None:
        self.socket_path = os.fspath(socket_path)
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._frames = p.FrameBuffer(p.MAX_REPLY_FRAME)
        self._pending: deque[bytes | p.Oversized] = deque()
        self._last_id = 0

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._frames = p.FrameBuffer(p.MAX_REPLY_FRAME)
        self._pending.clear()

    def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """The method's result; RemoteError when the daemon answers with an error."""
        request_id = self._send(method, params)
        reply = self._receive(method, request_id)
        if "stream" in reply or reply.get("end"):
            self.close()  # the rest of the stream is still coming: this connection is spent
            raise IpcError(f"{method!r} answers with a stream; read it with Client.stream")
        return reply.get("result")

    def stream(self, method: str, params: dict[str, Any] | None = None) -> Iterator[Any]:
        """Each item the method streams, until its end; a plain result is yielded once."""
        request_id = self._send(method, params)
        finished = False
        try:
            while True:
                reply = self._receive(method, request_id)
                if reply.get("end"):
                    finished = True
                    return
                if "stream" in reply:
                    yield reply["stream"]
                    continue
                finished = True
                yield reply.get("result")
                return
        finally:
            if not finished:
                self.close()  # abandoned mid-stream: the daemon drops it when we hang up

    def _connect(self) -> socket.socket:
        if self._sock is not None:
            return self._sock
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except FileNotFoundError:
            reason = "no socket file"
        except ConnectionRefusedError:
            reason = "connection refused: the socket file is stale"
        except TimeoutError:
            reason = "timed out connecting"
        except OSError as exc:
            reason = exc.strerror or str(exc)
        else:
            self._sock = sock
            return sock
        sock.close()
        raise DaemonUnreachable(self.socket_path, reason)

    def _send(self, method: str, params: dict[str, Any] | None) -> int:
        self._last_id += 1
        try:
            frame = p.encode({"id": self._last_id, "method": method, "params": params or {}})
        except (TypeError, ValueError) as exc:
            raise IpcError(f"cannot send {method!r}: params are not JSON: {exc}") from None
        if len(frame) - 1 > p.MAX_FRAME:
            raise IpcError(f"request {method!r} is {len(frame) - 1} bytes; "
                           f"the limit is {p.MAX_FRAME}")
        sock = self._connect()
        try:
            sock.sendall(frame)
        except OSError as exc:
            refusal = self._refusal(method)
            self.close()
            if refusal is not None:
                raise refusal from None
            raise IpcError(f"lost the connection to the daemon sending {method!r}: {exc}") from None
        return self._last_id

    def _refusal(self, method: str) -> RemoteError | None:
        """A daemon that refuses us (another uid) sends one error frame and closes, possibly
        before our request is out: that frame is still readable and says why."""
        try:
            self._receive(method, self._last_id)
        except RemoteError as exc:
            return exc
        except (IpcError, OSError):
            return None
        return None

    def _receive(self, method: str, request_id: int) -> dict[str, Any]:
        frame = self._next_frame(method)
        try:
            reply = json.loads(frame)
        except ValueError:
            self.close()
            raise IpcError(f"the daemon answered {method!r} with malformed JSON") from None
        if not isinstance(reply, dict) or not isinstance(reply.get("ok"), bool):
            self.close()
            raise IpcError(f"the daemon answered {method!r} with {frame[:80]!r}, not a reply")
        if not reply["ok"]:
            error = reply.get("error")
            error = error if isinstance(error, dict) else {}
            raise RemoteError(str(error.get("code", p.INTERNAL)),
                              str(error.get("message", f"{method} failed")))
        if reply.get("id") != request_id:
            self.close()
            raise IpcError(f"the daemon answered request {reply.get('id')!r} "
                           f"while {request_id} ({method!r}) was waiting")
        return reply

    def _next_frame(self, method: str) -> bytes:
        while not self._pending:
            data = self._recv(method)
            self._pending.extend(self._frames.feed(data) if data else self._frames.eof())
            if not data and not self._pending:
                self.close()
                raise IpcError(f"the daemon closed the connection without answering {method!r}")
        frame = self._pending.popleft()
        if isinstance(frame, p.Oversized):
            self.close()
            raise IpcError(f"the daemon's answer to {method!r} exceeds {p.MAX_REPLY_FRAME} bytes")
        return frame

    def _recv(self, method: str) -> bytes:
        assert self._sock is not None
        try:
            return self._sock.recv(RECV_CHUNK)
        except TimeoutError:
            self.close()
            raise IpcError(f"the daemon did not answer {method!r} "
                           f"within {self.timeout:g} s") from None
        except OSError as exc:
            self.close()
            raise IpcError(f"lost the connection to the daemon waiting for {method!r}: "
                           f"{exc}") from None
