"""One page's WebSocket: the event stream down, calls up, each answered on the same socket.

Down: `{"type": "events", "events": [...]}` from the `subscribe` method (the snapshot first,
then batches of events); a `lagged` event or the end of the stream closes the socket, and the
page reconnects for a new snapshot. Up: `{"id": N, "method": "restart", "params": {...}}`,
answered by `{"type": "reply", "id": N, "result": ...}` or `{"type": "error", "id": N,
"error": {"code", "message"}}`; a streaming method (`logs` with `follow`) sends `{"type":
"item", "id": N, "item": ...}` until `{"type": "end", "id": N}` or `{"cancel": N}` from the page.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

from aiohttp import WSMsgType, web

from wezparallel.web.calls import CallError, Handler, invoke

log = logging.getLogger(__name__)

QUEUE = 1000  # events a page may fall behind before it is dropped (then it reconnects)
MAX_CALLS = 64  # calls and streams one page may have open at once
RECONNECT = 4000  # close code: the stream ended (lagged or daemon stopping); reconnect


class Session:
    def __init__(self, ws: web.WebSocketResponse, handlers: Mapping[str, Handler],
                 queue: int = QUEUE) -> None:
        self.ws = ws
        self.handlers = handlers
        self.queue = queue
        self.calls: dict[Any, asyncio.Task[None]] = {}
        self._send_lock = asyncio.Lock()

    async def run(self) -> None:
        events = asyncio.create_task(self._events(), name="dashboard-events")
        try:
            async for msg in self.ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                await self._on_message(msg.data)
        finally:
            events.cancel()
            for task in list(self.calls.values()):
                task.cancel()
            await asyncio.gather(events, *self.calls.values(), return_exceptions=True)

    async def send(self, message: dict[str, Any]) -> None:
        if self.ws.closed:
            return
        async with self._send_lock:
            with contextlib.suppress(ConnectionError):
                await self.ws.send_str(json.dumps(message, default=str))

    async def _events(self) -> None:
        try:
            stream = await invoke(self.handlers, "subscribe", {"batch": True,
                                                               "queue": self.queue})
        except CallError as exc:
            await self.send({"type": "error", "id": None, "error": exc.to_json()})
            await self.ws.close(code=RECONNECT, message=b"no subscription")
            return
        try:
            async for batch in stream:
                await self.send({"type": "events", "events": batch})
        finally:
            await _close(stream)
        await self.ws.close(code=RECONNECT, message=b"stream ended")

    async def _on_message(self, data: str) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            await self.send({"type": "error", "id": None,
                             "error": {"code": "bad_request", "message": "not JSON"}})
            return
        if not isinstance(message, dict):
            return
        if "cancel" in message:
            cancel = message["cancel"]
            task = self.calls.pop(cancel, None) if isinstance(cancel, (int, str)) else None
            if task is not None:
                task.cancel()
            return
        call_id = message.get("id")
        if not isinstance(call_id, (int, str)) or isinstance(call_id, bool):
            await self.send({"type": "error", "id": None, "error": {
                "code": "bad_request", "message": "a call needs an id (a number or a string)"}})
            return
        if len(self.calls) >= MAX_CALLS or call_id in self.calls:
            await self.send({"type": "error", "id": call_id, "error": {
                "code": "bad_request", "message": "too many calls at once, or a repeated id"}})
            return
        task = asyncio.create_task(self._call(call_id, message.get("method"),
                                              message.get("params")))
        self.calls[call_id] = task
        task.add_done_callback(lambda _t: self.calls.pop(call_id, None))

    async def _call(self, call_id: Any, method: Any, params: Any) -> None:
        if method == "subscribe":
            await self.send({"type": "error", "id": call_id, "error": {
                "code": "bad_request", "message": "this socket is already subscribed"}})
            return
        try:
            result = await invoke(self.handlers, method, params)
            if isinstance(result, AsyncIterator):
                await self._relay(call_id, result)
                return
        except CallError as exc:
            await self.send({"type": "error", "id": call_id, "error": exc.to_json()})
            return
        await self.send({"type": "reply", "id": call_id, "result": result})

    async def _relay(self, call_id: Any, items: AsyncIterator[Any]) -> None:
        try:
            async for item in items:
                await self.send({"type": "item", "id": call_id, "item": item})
        except Exception as exc:  # a stream that fails half-way: its error, like the socket's
            log.debug("dashboard stream %s failed", call_id, exc_info=exc)
            await self.send({"type": "error", "id": call_id,
                             "error": {"code": "failed", "message": str(exc)}})
            return
        finally:
            await _close(items)
        await self.send({"type": "end", "id": call_id})


async def _close(items: AsyncIterator[Any]) -> None:
    aclose = getattr(items, "aclose", None)
    if aclose is not None:
        with contextlib.suppress(Exception):
            await aclose()
