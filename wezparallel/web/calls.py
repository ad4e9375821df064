"""The socket methods the page may call, and their failures as `{code, message}`.

The same handler functions `wezparctl` reaches over the socket (one place per verb); this list
only narrows them to what a page needs, so a new socket method is not exposed to the browser
until someone decides it should be.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from wezparallel.errors import RemoteError, WezparallelError

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[Any]]

PAGE_METHODS = frozenset({
    "status", "start", "stop", "restart", "send", "logs", "capture", "metrics_snapshot",
    "metrics_history", "plan", "reload", "subscribe", "report", "ping",
    # the board (static/board.js); merging from the page is a button on a card in review
    "task_list", "task_show", "task_add", "task_move", "task_assign", "task_cancel",
    "task_edit", "task_diff", "task_merge"})


class CallError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


async def invoke(handlers: Mapping[str, Handler], method: Any, params: Any) -> Any:
    """Call one socket method for the page; every failure is a CallError."""
    if not isinstance(method, str) or method not in PAGE_METHODS or method not in handlers:
        raise CallError("unknown_method", f"unknown method {method!r}")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise CallError("bad_request", "params must be an object")
    try:
        return await handlers[method](params)
    except RemoteError as exc:
        raise CallError(exc.code, exc.message) from None
    except WezparallelError as exc:
        raise CallError("failed", str(exc)) from None
    except Exception as exc:
        log.error("internal error in %s (dashboard)", method, exc_info=exc)
        raise CallError("internal", f"internal error in {method}: {type(exc).__name__}: {exc} "
                        "(the daemon log has the traceback)") from None


def dashboard_method(url: Callable[[], str | None]) -> Handler:
    """The socket's `dashboard` method: the page's URL with its token, for `wezparctl
    dashboard`; an error saying how to turn it on when it is off."""
    async def dashboard(params: dict[str, Any]) -> Any:
        found = url()
        if found is None:
            raise RemoteError("failed", "the dashboard is off in this daemon (started with "
                              "--no-dashboard or WEZPARALLEL_DASHBOARD=off)")
        return {"url": found}

    return dashboard
