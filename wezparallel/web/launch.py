"""The dashboard as the daemon holds it: bound at start, served once aiohttp has loaded.

`Dashboard(...)` binds the port and reads the token at once (a taken port fails the start
cleanly, and the URL is known for the log and `wezparctl dashboard`); `start` imports aiohttp in
a worker thread, so the processes start while it loads.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from wezparallel.errors import WezparallelError
from wezparallel.web.calls import Handler
from wezparallel.web.listen import bind, url_of
from wezparallel.web.settings import DashboardAddress
from wezparallel.web.token import load_or_create

log = logging.getLogger(__name__)


class Dashboard:
    def __init__(self, address: DashboardAddress, state_dir: Path) -> None:
        self.sock = bind(address)
        try:
            self.token = load_or_create(state_dir)
        except OSError as exc:
            self.sock.close()
            raise WezparallelError(f"dashboard: cannot keep its token in {state_dir}: "
                                   f"{exc.strerror or exc}") from None
        self.url = url_of(self.sock, address.host)
        self._server: Any = None  # web.server.DashboardServer, once aiohttp is loaded
        self._task: asyncio.Task[None] | None = None

    def url_with_token(self) -> str:
        return f"{self.url}?token={self.token}"

    def start(self, handlers: Mapping[str, Handler]) -> None:
        """Serve in the background, from the running loop."""
        self._task = asyncio.create_task(self._serve(handlers), name="dashboard")

    async def _serve(self, handlers: Mapping[str, Handler]) -> None:
        try:
            server = await asyncio.to_thread(importlib.import_module, "wezparallel.web.server")
            self._server = await server.serve(self.sock, self.url, self.token, handlers)
        except asyncio.CancelledError:
            raise
        except Exception:  # the daemon goes on without its page; the log says why
            log.exception("dashboard: could not start its web server")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._server is not None:
            await self._server.close()
        self.sock.close()
