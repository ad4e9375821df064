"""Socket methods, one module per command family; `handlers_for` gathers them for the server."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from wezparallel.ipc.handlers import (
    agent,
    config,
    daemon,
    events,
    metrics,
    pane,
    process,
    task,
)
from wezparallel.runtime.daemon import Daemon

Handler = Callable[[dict[str, Any]], Awaitable[Any]]


def handlers_for(d: Daemon) -> dict[str, Handler]:
    out: dict[str, Handler] = {}
    for family in (process, config, daemon, metrics, pane, agent, events, task):
        out.update(family.handlers(d))
    return out
