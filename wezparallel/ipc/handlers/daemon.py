"""ping and shutdown: questions about the daemon itself."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any

from wezparallel import __version__
from wezparallel.runtime.daemon import Daemon


def handlers(d: Daemon) -> dict[str, Callable[[dict[str, Any]], Awaitable[Any]]]:
    async def ping(params: dict[str, Any]) -> Any:
        return {"pong": True, "pid": os.getpid(), "version": __version__}

    async def shutdown(params: dict[str, Any]) -> Any:
        leave = bool(params.get("leave_running", False))
        # Answer first: the server closes once the daemon is down.
        asyncio.get_running_loop().call_soon(lambda: d.request_shutdown(leave_running=leave))
        return {"stopping": True, "leave_running": leave}

    return {"ping": ping, "shutdown": shutdown}
