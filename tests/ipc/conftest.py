"""A real IpcServer on a real Unix socket, served from its own event loop in a thread.

The tests talk to it the way `wezparctl` and old scripts do: with the blocking Client or with
raw bytes on a socket.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.support import short_tmpdir
from wezparallel.errors import RemoteError, SpawnError
from wezparallel.ipc.server import Handler, IpcServer

T = TypeVar("T")


class Recorder:
    """What the handlers saw and did, readable from the test thread."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.stream_closed = threading.Event()
        self.gate_count = 0
        self.gate_open: asyncio.Event | None = None


def make_handlers(rec: Recorder) -> dict[str, Handler]:
    def recorded(name: str, fn: Callable[[dict[str, Any]], Awaitable[Any]]) -> Handler:
        async def handler(params: dict[str, Any]) -> Any:
            rec.calls.append((name, params))
            return await fn(params)
        return handler

    async def echo(params: dict[str, Any]) -> Any:
        return params

    async def missing(params: dict[str, Any]) -> Any:
        raise RemoteError("not_found", "no process 'web:x'")

    async def boom(params: dict[str, Any]) -> Any:
        raise ValueError("kaboom")

    async def spawn_failure(params: dict[str, Any]) -> Any:
        raise SpawnError("no such program: nope")

    async def unserialisable(params: dict[str, Any]) -> Any:
        return {"x": object()}

    async def sleep(params: dict[str, Any]) -> Any:
        await asyncio.sleep(params["seconds"])
        return "slept"

    async def gate(params: dict[str, Any]) -> Any:
        """Answers only once `n` calls are waiting at once: proves clients are served together."""
        if rec.gate_open is None:
            rec.gate_open = asyncio.Event()
        rec.gate_count += 1
        if rec.gate_count >= params["n"]:
            rec.gate_open.set()
        await asyncio.wait_for(rec.gate_open.wait(), 20)
        return params["i"]

    async def count(params: dict[str, Any]) -> Any:
        async def items() -> AsyncIterator[int]:
            for i in range(params["n"]):
                yield i
            if params.get("fail"):
                raise RemoteError("failed", "the stream broke")
        return items()

    async def follow(params: dict[str, Any]) -> Any:
        async def items() -> AsyncIterator[str]:
            try:
                yield "first"
                await asyncio.Event().wait()  # a quiet log: nothing more, ever
                yield "never"
            finally:
                rec.stream_closed.set()
        return items()

    async def templates(params: dict[str, Any]) -> Any:
        return {"templates": [{"name": "basic", "description": "one shell"}]}

    async def workspace_create(params: dict[str, Any]) -> Any:
        if params["template"] == "nope":
            raise RemoteError("failed", "no template 'nope'")
        return {"processes": [{"id": f"{params['name']}:shell"}]}

    plain = {"echo": echo, "missing": missing, "boom": boom, "spawn_failure": spawn_failure,
             "unserialisable": unserialisable, "sleep": sleep, "gate": gate, "count": count,
             "follow": follow, "templates": templates, "workspace_create": workspace_create}
    return {name: recorded(name, fn) for name, fn in plain.items()}


class ServerThread:
    """An event loop in a thread running one IpcServer; `run` executes coroutines on it."""

    def __init__(self, root: Path, handlers: dict[str, Handler]) -> None:
        self.root = root
        self.path = root / "run" / "s.sock"
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = IpcServer(self.path, handlers)

    def run(self, coro: Awaitable[T], timeout: float = 20.0) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)  # type: ignore[arg-type]
        return future.result(timeout)

    def start(self) -> ServerThread:
        self.run(self.server.start())
        return self

    def stop(self) -> None:
        self.run(self.server.close())
        self.run(self.loop.shutdown_asyncgens())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def root() -> Iterator[Path]:
    path = short_tmpdir("wp-ipc-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def served(root: Path, recorder: Recorder) -> Iterator[ServerThread]:
    st = ServerThread(root, make_handlers(recorder)).start()
    yield st
    st.stop()


def raw_exchange(path: Path, payload: bytes, replies: int, timeout: float = 10.0) -> list[bytes]:
    """Send bytes, read `replies` lines back, keeping our sending side open meanwhile."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(timeout)
        s.connect(str(path))
        s.sendall(payload)
        return read_lines(s, replies)


def read_lines(s: socket.socket, n: int) -> list[bytes]:
    data = b""
    while data.count(b"\n") < n:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    return data.splitlines()
