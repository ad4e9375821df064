"""The dashboard's HTTP server: the page, its WebSocket and small JSON endpoints, on loopback.

Every request passes `guard.decide` first; a refused one gets its status and one word, nothing
else. A valid `?token=` is exchanged for the cookie and the browser sent on to the same page
without it, so the token does not linger in the address bar or the history.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from aiohttp import web

from wezparallel.web import guard
from wezparallel.web.calls import CallError, Handler, invoke
from wezparallel.web.session import QUEUE, Session

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
                               "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
MAX_BODY = 1 << 20
MAX_QUEUE = 100_000  # as `subscribe` allows

Middleware = Callable[[web.Request], Awaitable[web.StreamResponse]]


SHUTDOWN_GRACE = 2.0  # seconds open pages and streams get to end when the daemon stops

class DashboardServer:
    def __init__(self, handlers: Mapping[str, Handler], token: str) -> None:
        self.handlers = handlers
        self.token = token
        self.url = ""  # http://HOST:PORT/ once started
        self.cookie = guard.COOKIE
        self._runner: web.AppRunner | None = None
        self._sockets: set[web.WebSocketResponse] = set()

    async def start(self, sock: socket.socket, url: str) -> None:
        """Serve on `sock`, already listening (`listen.bind`)."""
        app = web.Application(middlewares=[self._guard], client_max_size=MAX_BODY)
        app.router.add_get("/", self._index)
        app.router.add_get("/ws", self._websocket)
        app.router.add_post("/api/{method}", self._api)
        app.router.add_static("/static/", STATIC, append_version=False)
        # A stopping daemon gives open pages and streams SHUTDOWN_GRACE to end, not aiohttp's
        # default minute: a page that does not answer its close frame must not hold up the stop.
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False,
                                     shutdown_timeout=SHUTDOWN_GRACE)
        await self._runner.setup()
        await web.SockSite(self._runner, sock, shutdown_timeout=SHUTDOWN_GRACE).start()
        self.url = url
        self.cookie = f"{guard.COOKIE}_{sock.getsockname()[1]}"  # cookies ignore the port

    async def close(self) -> None:
        for ws in list(self._sockets):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ws.close(code=1001, message=b"daemon stopping"),
                                       SHUTDOWN_GRACE)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @web.middleware
    async def _guard(self, request: web.Request, handler: Middleware) -> web.StreamResponse:
        verdict = guard.decide(_facts(request, self.cookie), self.token)
        if not verdict.allowed:
            log.info("dashboard: %s %s refused (%d %s)", request.method, request.path,
                     verdict.status, verdict.reason)
            return web.Response(status=verdict.status, text=verdict.reason, headers=HEADERS)
        if verdict.set_cookie and request.method == "GET" and request.path != "/ws":
            query = request.rel_url.query.copy()
            query.pop("token", None)
            response: web.StreamResponse = web.Response(
                status=302, headers={"Location": str(request.rel_url.with_query(query))})
            response.set_cookie(self.cookie, self.token, httponly=True, samesite="Strict",
                                path="/")
        else:
            response = await handler(request)
        response.headers.update(HEADERS)
        return response

    async def _index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html")

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        """`?queue=N`: how many events this page may fall behind before it is dropped and
        reconnects (default 1000)."""
        queue = request.query.get("queue", str(QUEUE))
        if not queue.isdigit() or not 1 <= int(queue) <= MAX_QUEUE:
            return web.Response(status=400, text=f"queue must be 1 to {MAX_QUEUE}")
        ws = web.WebSocketResponse(heartbeat=20, max_msg_size=MAX_BODY)
        await ws.prepare(request)
        self._sockets.add(ws)
        try:
            await Session(ws, self.handlers, int(queue)).run()
        finally:
            self._sockets.discard(ws)
        return ws

    async def _api(self, request: web.Request) -> web.StreamResponse:
        """POST /api/METHOD with the params as a JSON body: for scripts and later pages."""
        try:
            params: Any = await request.json() if request.can_read_body else {}
        except ValueError:
            return web.json_response({"error": {"code": "bad_request",
                                                "message": "the body is not JSON"}}, status=400)
        try:
            result = await invoke(self.handlers, request.match_info["method"], params)
        except CallError as exc:
            status = 404 if exc.code in ("unknown_method", "not_found") else 400
            return web.json_response({"error": exc.to_json()}, status=status)
        if hasattr(result, "__aiter__"):
            await _aclose(result)
            return web.json_response({"error": {"code": "bad_request", "message":
                                     "a streaming call needs the WebSocket (/ws)"}}, status=400)
        return web.json_response({"result": result})


async def serve(sock: socket.socket, url: str, token: str,
                handlers: Mapping[str, Handler]) -> DashboardServer:
    server = DashboardServer(handlers, token)
    await server.start(sock, url)
    log.debug("dashboard: serving %s", url)
    return server


async def _aclose(items: Any) -> None:
    aclose = getattr(items, "aclose", None)
    if aclose is not None:
        await aclose()


def _facts(request: web.Request, cookie: str) -> guard.RequestFacts:
    auth = request.headers.get("Authorization", "")
    bearer = auth[7:].strip() if auth.lower().startswith("bearer ") else None
    return guard.RequestFacts(
        method=request.method, host=request.headers.get("Host"),
        origin=request.headers.get("Origin"), query_token=request.query.get("token"),
        header_token=bearer, cookie_token=request.cookies.get(cookie),
        websocket=request.headers.get("Upgrade", "").lower() == "websocket")
