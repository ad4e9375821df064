"""The daemon's end of the control socket: frames in, handler calls, replies out.

One asyncio task per connection reads frames into a small queue while another answers them in
order, so a stream (`logs -f`) ends as soon as its client goes away and one slow or hostile
client never holds up another. The methods themselves live in `wezparallel.ipc.handlers`;
this module knows only the protocol (docs/protocol.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import socket
import stat
import struct
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from wezparallel.errors import IpcError, RemoteError, WezparallelError
from wezparallel.ipc import legacy
from wezparallel.ipc import protocol as p
from wezparallel.paths import ensure_socket_dir

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[Any]]
"""params -> a JSON-able result, or an async iterator of JSON-able items (a stream)."""

READ_CHUNK = 64 * 1024
QUEUED_FRAMES = 32  # frames read ahead of the answers; beyond that the client is not read
_UCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid
_EOF = None


def peer_allowed(peer_uid: int | None, own_uid: int) -> bool:
    """Only our own user may drive the daemon; an unknown uid (no SO_PEERCRED) is left to the
    0700 directory, which already keeps other users from reaching the socket."""
    return peer_uid is None or peer_uid == own_uid


def peer_uid(sock: Any) -> int | None:
    """The uid of the process on the other end of a Unix socket (Linux SO_PEERCRED)."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None or sock is None:
        return None
    _pid, uid, _gid = _UCRED.unpack(sock.getsockopt(socket.SOL_SOCKET, option, _UCRED.size))
    return int(uid)


class IpcServer:
    """Serves `handlers` on a private Unix socket until `close`."""

    def __init__(self, socket_path: Path, handlers: Mapping[str, Handler]) -> None:
        self.socket_path = Path(socket_path)
        self._handlers = dict(handlers)
        self._server: asyncio.AbstractServer | None = None
        self._inode: int | None = None
        self._connections: set[asyncio.Task[Any]] = set()
        self.allowed_uid = os.getuid()  # the one user whose clients are served

    async def start(self) -> None:
        """Listen; refuse when a live daemon answers on the path, replace a stale socket file."""
        ensure_socket_dir(self.socket_path)
        sock = _listening_socket(self.socket_path)
        self._inode = os.stat(self.socket_path).st_ino
        self._server = await asyncio.start_unix_server(self._on_connect, sock=sock)
        log.debug("listening on %s", self.socket_path)

    async def close(self) -> None:
        """Stop accepting, end every connection, and remove the socket file if it is still ours."""
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
        with contextlib.suppress(OSError):
            if os.stat(self.socket_path).st_ino == self._inode:
                os.unlink(self.socket_path)

    async def _on_connect(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await _Connection(self._handlers, reader, writer).serve(self.allowed_uid)
        except asyncio.CancelledError:
            pass  # the server is closing
        except Exception:
            log.exception("a connection on %s failed", self.socket_path)
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


class _Connection:
    """One client: requests answered in the order they came, until it hangs up."""

    def __init__(self, handlers: Mapping[str, Handler], reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.handlers = handlers
        self.reader, self.writer = reader, writer
        self.frames: asyncio.Queue[bytes | p.Oversized | None] = asyncio.Queue(QUEUED_FRAMES)
        self.hung_up = asyncio.Event()

    async def serve(self, allowed_uid: int) -> None:
        uid = peer_uid(self.writer.get_extra_info("socket"))
        if not peer_allowed(uid, allowed_uid):
            log.warning("refused a connection from uid %s", uid)
            await self._send(p.error_reply(None, p.FORBIDDEN,
                                           f"uid {uid} may not use this daemon's socket"))
            return
        reading = asyncio.create_task(self._read())
        try:
            while (frame := await self.frames.get()) is not _EOF:
                await self._answer(frame)
        except (ConnectionError, BrokenPipeError):
            pass
        finally:
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reading

    async def _read(self) -> None:
        frames = p.FrameBuffer()
        try:
            while data := await self.reader.read(READ_CHUNK):
                for frame in frames.feed(data):
                    await self.frames.put(frame)
        except (ConnectionError, OSError):
            pass
        else:
            for frame in frames.eof():
                await self.frames.put(frame)
        self.hung_up.set()
        await self.frames.put(_EOF)

    async def _send(self, message: Any) -> None:
        self.writer.write(p.encode(message))
        await self.writer.drain()

    async def _answer(self, frame: bytes | p.Oversized) -> None:
        if isinstance(frame, p.Oversized):
            await self._send(p.error_reply(None, p.FRAME_TOO_LARGE, (
                f"frame over {p.MAX_FRAME} bytes; the rest of that line was discarded")))
            return
        try:
            message = p.decode(frame)
            if legacy.is_legacy(message):
                await self._answer_legacy(message)
                return
            request = p.to_request(message)
        except p.ProtocolViolation as bad:
            await self._send(p.error_reply(bad.request_id, bad.code, bad.message))
            return
        try:
            result = await self._invoke(request.method, request.params)
        except p.ProtocolViolation as failed:
            await self._send(p.error_reply(request.id, failed.code, failed.message))
            return
        if isinstance(result, AsyncIterator):
            await self._stream(request.id, result)
        else:
            await self._send_result(request.id, result)

    async def _answer_legacy(self, message: Any) -> None:
        call = legacy.translate(message)
        if isinstance(call, str):
            await self._send(legacy.error_reply(call))
            return
        if call.method is None:
            await self._send(call.answer)
            return
        try:
            result = await self._invoke(call.method, call.params)
        except p.ProtocolViolation as failed:
            await self._send(legacy.error_reply(failed.message))
            return
        if isinstance(result, AsyncIterator):
            await _close_iterator(result)
            result = legacy.error_reply(f"{call.method} streams, which legacy clients cannot read")
        await self._send(result)

    async def _invoke(self, method: str, params: dict[str, Any]) -> Any:
        """Call a handler; every failure becomes a ProtocolViolation carrying its reply code."""
        handler = self.handlers.get(method)
        if handler is None:
            raise p.ProtocolViolation(p.UNKNOWN_METHOD, f"unknown method {method!r}")
        log.debug("call %s %s", method, params)
        try:
            return await handler(params)
        except Exception as exc:
            raise _violation(method, exc) from None

    async def _send_result(self, request_id: Any, result: Any) -> None:
        try:
            data = p.encode(p.ok_reply(request_id, result))
        except (TypeError, ValueError) as exc:
            data = p.encode(p.error_reply(request_id, *_internal("reply encoding", exc)))
        self.writer.write(data)
        await self.writer.drain()

    async def _stream(self, request_id: Any, items: AsyncIterator[Any]) -> None:
        """Relay a stream until it ends, fails, or the client hangs up (then it is dropped)."""
        relay = asyncio.create_task(self._relay(request_id, items))
        hangup = asyncio.create_task(self.hung_up.wait())
        try:
            await asyncio.wait({relay, hangup}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            hangup.cancel()
            relay.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relay
            await _close_iterator(items)

    async def _relay(self, request_id: Any, items: AsyncIterator[Any]) -> None:
        try:
            async for item in items:
                await self._send_result_item(request_id, item)
        except (ConnectionError, BrokenPipeError):
            return
        except Exception as exc:
            bad = _violation("stream", exc)
            await self._send(p.error_reply(request_id, bad.code, bad.message))
            return
        await self._send(p.end_reply(request_id))

    async def _send_result_item(self, request_id: Any, item: Any) -> None:
        try:
            data = p.encode(p.stream_reply(request_id, item))
        except (TypeError, ValueError) as exc:
            raise RemoteError(*_internal("stream item encoding", exc)) from exc
        self.writer.write(data)
        await self.writer.drain()


def _violation(method: str, exc: Exception) -> p.ProtocolViolation:
    """RemoteError keeps its code, our own errors are a clean `failed`, the rest is a bug."""
    if isinstance(exc, RemoteError):
        return p.ProtocolViolation(exc.code, exc.message)
    if isinstance(exc, WezparallelError):
        return p.ProtocolViolation(p.FAILED, str(exc))
    return p.ProtocolViolation(*_internal(method, exc))


def _internal(where: str, exc: BaseException) -> tuple[str, str]:
    log.error("internal error in %s", where, exc_info=exc)
    return p.INTERNAL, (f"internal error in {where}: {type(exc).__name__}: {exc} "
                        "(the daemon log has the traceback)")


async def _close_iterator(items: AsyncIterator[Any]) -> None:
    aclose = getattr(items, "aclose", None)
    if aclose is not None:
        with contextlib.suppress(Exception):
            await aclose()


def _listening_socket(path: Path) -> socket.socket:
    """Bind and listen, mode 0600; EADDRINUSE means a live daemon (refuse) or a stale file."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        try:
            sock.bind(str(path))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise IpcError(f"cannot create the control socket {path}: {exc}") from None
            _remove_stale(path)
            sock.bind(str(path))
        os.chmod(path, 0o600)
        sock.listen(128)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def _remove_stale(path: Path) -> None:
    if not stat.S_ISSOCK(os.lstat(path).st_mode):
        raise IpcError(f"{path} exists and is not a socket; remove it or choose another --socket")
    if _answers(path):
        raise IpcError(f"another wezparallel daemon is already running on {path}; stop it with "
                       f"`wezparctl --socket {path} shutdown` or choose another --socket")
    log.info("replacing the stale socket %s left by a daemon that is gone", path)
    os.unlink(path)


def _answers(path: Path) -> bool:
    """Whether something listens on the socket file (a refused connect means a stale file)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(2.0)
        try:
            probe.connect(str(path))
        except (ConnectionRefusedError, FileNotFoundError):
            return False
        except OSError:
            return True  # a full backlog or a timeout: somebody is there
        return True
