"""The daemon's end of the control socket: frames in, handler calls, replies out.

One asyncio task per connection reads frames into a small queue while another answers them in
order, so one slow or hostile client never holds up another. When a client hangs up, its stream
(`logs -f`) ends and a call that only waits for it (`wait`) is dropped at once, freeing its slot
(`hangup`); a client that only shut down its write side is still answered. The methods
themselves live in `wezparallel.ipc.handlers`; this module knows only the protocol
(docs/protocol.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wezparallel.errors import RemoteError, WezparallelError
from wezparallel.ipc import protocol as p
from wezparallel.ipc.hangup import ClientGone, HangupWatch, cancels_on_hangup, unless_gone
from wezparallel.ipc.socketfile import fds_short, listening_socket, peer_allowed, peer_uid
from wezparallel.paths import ensure_socket_dir

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[Any]]
"""params -> a JSON-able result, or an async iterator of JSON-able items (a stream)."""

READ_CHUNK = 64 * 1024
MAX_CLIENTS = 128  # connections served at once; more are refused with `busy`
QUEUED_FRAMES = 32  # frames read ahead of the answers; beyond that the client is not read
QUEUED_BYTES = 2 << 20  # nor beyond this many bytes of them (one frame may be 1 MiB)
_EOF = None


class IpcServer:
    """Serves `handlers` on a private Unix socket until `close`."""

    def __init__(self, socket_path: Path, handlers: Mapping[str, Handler],
                 max_clients: int = MAX_CLIENTS) -> None:
        self.socket_path = Path(socket_path)
        self.max_clients = max_clients
        self._handlers = handlers  # a family's methods load on their first call (handlers)
        self._server: asyncio.AbstractServer | None = None
        self._inode: int | None = None
        self._connections: set[asyncio.Task[Any]] = set()
        self._hangups = HangupWatch()
        self.allowed_uid = os.getuid()  # the one user whose clients are served

    async def start(self) -> None:
        """Listen; refuse when a live daemon answers on the path, replace a stale socket file."""
        ensure_socket_dir(self.socket_path)
        sock = listening_socket(self.socket_path)
        self._inode = os.stat(self.socket_path).st_ino
        self._hangups.start()
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
        self._hangups.close()
        with contextlib.suppress(OSError):
            if os.stat(self.socket_path).st_ino == self._inode:
                os.unlink(self.socket_path)

    async def _on_connect(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        refusal = self._full()
        if refusal is not None:
            await _refuse(writer, refusal)
            return
        self._connections.add(task)
        try:
            await _Connection(self._handlers, reader, writer).serve(self.allowed_uid,
                                                                    self._hangups)
        except asyncio.CancelledError:
            pass  # the server is closing
        except Exception:
            log.exception("a connection on %s failed", self.socket_path)
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            _forget_tracebacks(reader.exception())

    def _full(self) -> str | None:
        """Why one more client cannot be served now, if it cannot: the client cap, or the
        file descriptors kept in reserve for starting processes (issue 16.11)."""
        if len(self._connections) >= self.max_clients:
            return f"the daemon serves at most {self.max_clients} clients at once; try again"
        return fds_short()


async def _refuse(writer: asyncio.StreamWriter, reason: str) -> None:
    log.warning("refused a client: %s", reason)
    try:
        writer.write(p.encode(p.error_reply(None, p.BUSY, reason)))
        await asyncio.wait_for(writer.drain(), 1.0)
    except (OSError, TimeoutError):
        pass
    finally:
        writer.close()


class _Connection:
    """One client: requests answered in the order they came, until it hangs up."""

    def __init__(self, handlers: Mapping[str, Handler], reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.handlers = handlers
        self.reader, self.writer = reader, writer
        self.frames: asyncio.Queue[bytes | p.Oversized | None] = asyncio.Queue(QUEUED_FRAMES)
        self.gone = asyncio.Event()  # the client hung up (a half-close is no hang-up)
        self.eof_is_hangup = True  # unless its hang-up can be seen apart (HangupWatch)
        self.queued = 0  # bytes in `frames`: what one client makes us hold stays bounded
        self.room = asyncio.Event()

    async def serve(self, allowed_uid: int, hangups: HangupWatch) -> None:
        sock = self.writer.get_extra_info("socket")
        uid = peer_uid(sock)
        if not peer_allowed(uid, allowed_uid):
            log.warning("refused a connection from uid %s", uid)
            await self._send(p.error_reply(None, p.FORBIDDEN,
                                           f"uid {uid} may not use this daemon's socket"))
            return
        fd = sock.fileno()
        self.eof_is_hangup = not hangups.watch(fd, self.gone)
        reading = asyncio.create_task(self._read())
        try:
            while (frame := await self.frames.get()) is not _EOF:
                self.queued -= _size(frame)
                self.room.set()
                parsed = _parse(frame)
                frame = None  # a refused 1 MB line is not kept while its reply is written
                await self._answer(parsed)
        except (ConnectionError, BrokenPipeError):
            pass
        finally:
            hangups.forget(fd, self.gone)
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reading

    async def _read(self) -> None:
        frames = p.FrameBuffer()
        try:
            while data := await self.reader.read(READ_CHUNK):
                for frame in frames.feed(data):
                    await self._queue(frame)
        except (ConnectionError, OSError):
            self.gone.set()  # reset: the client is gone
        else:
            for frame in frames.eof():
                await self._queue(frame)
            if self.eof_is_hangup:
                self.gone.set()
        await self.frames.put(_EOF)

    async def _queue(self, frame: bytes | p.Oversized) -> None:
        while self.queued and self.queued + _size(frame) > QUEUED_BYTES:
            self.room.clear()
            await self.room.wait()
        self.queued += _size(frame)
        await self.frames.put(frame)

    async def _send(self, message: Any) -> None:
        self.writer.write(p.encode(message))
        await self.writer.drain()

    async def _answer(self, parsed: p.Request | _Legacy | dict[str, Any]) -> None:
        if isinstance(parsed, dict):  # the frame was refused: this is the error reply
            await self._send(parsed)
            return
        if isinstance(parsed, _Legacy):
            await self._answer_legacy(parsed.message)
            return
        try:
            result = await self._invoke(parsed.method, parsed.params)
        except p.ProtocolViolation as failed:
            reply = p.error_reply(parsed.id, failed.code, failed.message)
        else:
            if isinstance(result, AsyncIterator):
                await self._stream(parsed.id, result)
            else:
                await self._send_result(parsed.id, result)
            return
        await self._send(reply)  # outside the except block: no exception chained to a failed send

    async def _answer_legacy(self, message: Any) -> None:
        from wezparallel.ipc import legacy

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
            if cancels_on_hangup(handler):
                return await unless_gone(handler(params), self.gone)
            return await handler(params)
        except ClientGone:
            raise  # ends the connection (serve)
        except Exception as exc:
            code, message = _failure(method, exc)
        # raised out here, not in the except block, so no frame keeps the handler's exception
        # (and through it these params) in a reference cycle
        raise p.ProtocolViolation(code, message)

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
        hangup = asyncio.create_task(self.gone.wait())
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
            code, message = _failure("stream", exc)
        else:
            await self._send(p.end_reply(request_id))
            return
        await self._send(p.error_reply(request_id, code, message))

    async def _send_result_item(self, request_id: Any, item: Any) -> None:
        try:
            data = p.encode(p.stream_reply(request_id, item))
        except (TypeError, ValueError) as exc:
            code, message = _internal("stream item encoding", exc)
        else:
            self.writer.write(data)
            await self.writer.drain()
            return
        raise RemoteError(code, message)


def _size(frame: bytes | p.Oversized | None) -> int:
    return len(frame) if isinstance(frame, bytes) else 0


@dataclass(frozen=True)
class _Legacy:
    message: Any


def _parse(frame: bytes | p.Oversized) -> p.Request | _Legacy | dict[str, Any]:
    """A frame -> the request it holds, or the error reply that refuses it. A wezterm-parallel
    message is never a request (that needs a `method` key): the legacy module is asked only
    about what is not, and so imported only by a daemon that old scripts talk to."""
    if isinstance(frame, p.Oversized):
        return p.error_reply(None, p.FRAME_TOO_LARGE, (
            f"frame over {p.MAX_FRAME} bytes; the rest of that line was discarded"))
    try:
        message = p.decode(frame)
    except p.ProtocolViolation as bad:
        return p.error_reply(bad.request_id, bad.code, bad.message)
    try:
        return p.to_request(message)
    except p.ProtocolViolation as bad:
        from wezparallel.ipc import legacy

        if legacy.is_legacy(message):
            return _Legacy(message)
        return p.error_reply(bad.request_id, bad.code, bad.message)


def _forget_tracebacks(exc: BaseException | None) -> None:
    """Cut an exception (and those chained to it) loose from the frames it was raised through.

    asyncio keeps a connection's fatal error (a broken pipe) in its stream reader, and raises that
    same object again from our `drain()`: its traceback then holds our frames, which hold the
    connection, which holds the reader: a cycle that only the cyclic collector frees, and which
    kept each vanished client's last frame (up to 1 MB) alive (issue 16.12)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        exc.__traceback__ = None
        following = exc.__cause__ or exc.__context__
        exc.__cause__ = exc.__context__ = None
        exc = following


def _failure(method: str, exc: Exception) -> tuple[str, str]:
    """RemoteError keeps its code, our own errors are a clean `failed`, the rest is a bug."""
    if isinstance(exc, RemoteError):
        return exc.code, exc.message
    if isinstance(exc, WezparallelError):
        return p.FAILED, str(exc)
    return _internal(method, exc)


def _internal(where: str, exc: BaseException) -> tuple[str, str]:
    log.error("internal error in %s", where, exc_info=exc)
    return p.INTERNAL, (f"internal error in {where}: {type(exc).__name__}: {exc} "
                        "(the daemon log has the traceback)")


async def _close_iterator(items: AsyncIterator[Any]) -> None:
    aclose = getattr(items, "aclose", None)
    if aclose is not None:
        with contextlib.suppress(Exception):
            await aclose()
