"""metrics_snapshot and metrics_history: what processes cost, now and over time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from wezparallel.errors import RemoteError
from wezparallel.ipc.handlers import params as p
from wezparallel.runtime.daemon import Daemon
from wezparallel.runtime.status import resolve_one


def handlers(d: Daemon) -> dict[str, Callable[[dict[str, Any]], Awaitable[Any]]]:
    async def metrics_snapshot(params: dict[str, Any]) -> Any:
        runner = d.metrics
        if runner is not None:
            runner.watched()
        if runner is None or runner.latest is None:
            raise RemoteError("failed", "no metrics yet: the first pass has not run")
        return runner.latest.to_json()

    async def metrics_history(params: dict[str, Any]) -> Any:
        runner = d.metrics
        if runner is None:
            raise RemoteError("failed", "metrics are off in this daemon")
        runner.watched()
        pid = resolve_one(d, p.string(params, "id"))
        since = p.number(params, "since_seconds", 3600.0)
        now = d.clock.wall()
        series = runner.history.series(pid, now - since, now).to_json()
        if not runner.history.enabled:
            series["disabled"] = runner.history.reason
        return series

    return {"metrics_snapshot": metrics_snapshot, "metrics_history": metrics_history}
