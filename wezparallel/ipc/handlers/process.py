"""status, start, stop, restart, logs: what users do to processes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from wezparallel.backends.base import resolved
from wezparallel.ipc.handlers import params as p
from wezparallel.plan.lifecycle import UP_STATES, State
from wezparallel.runtime.daemon import Daemon
from wezparallel.runtime.status import process_object, resolve_ids, resolve_one, status_object

DEFAULT_TIMEOUT = 30.0  # seconds a start/stop/restart waits for its outcome


def handlers(d: Daemon) -> dict[str, Callable[[dict[str, Any]], Awaitable[Any]]]:
    async def status(params: dict[str, Any]) -> Any:
        patterns = p.optional_strings(params, "patterns")
        if d.metrics is not None:
            d.metrics.watched()  # a person or script reading CPU and memory columns
        return status_object(d, patterns)

    async def start(params: dict[str, Any]) -> Any:
        return await _change(d, params, "start")

    async def stop(params: dict[str, Any]) -> Any:
        return await _change(d, params, "stop")

    async def restart(params: dict[str, Any]) -> Any:
        return await _change(d, params, "restart")

    async def logs(params: dict[str, Any]) -> Any:
        return await _logs(d, params)

    return {"status": status, "start": start, "stop": stop, "restart": restart, "logs": logs}


def _settled(d: Daemon, pid: str, verb: str, old_pid: int | None) -> bool:
    st = d.supervisor.statuses.get(pid)
    if st is None:
        return verb == "stop"
    if verb == "stop":
        return st.state not in UP_STATES | {State.STOPPING} and not d.supervisor.starting(pid)
    if st.state in (State.FATAL, State.EXITED) or not st.wanted:
        return True
    return st.state == State.RUNNING and (verb == "start" or st.pid != old_pid)


async def _change(d: Daemon, params: dict[str, Any], verb: str) -> dict[str, Any]:
    """Change the intent, then wait (like supervisorctl) until each process settles."""
    ids = resolve_ids(d, p.ids(params))
    timeout = p.number(params, "timeout", DEFAULT_TIMEOUT)
    sup = d.supervisor
    old = {i: (sup.statuses[i].pid if i in sup.statuses else None) for i in ids}
    sup.request(ids, verb)
    if params.get("wait", True):
        await sup.wait_until(lambda: all(_settled(d, i, verb, old[i]) for i in ids), timeout)
    mono, wall = d.clock.monotonic(), d.clock.wall()
    results = []
    for i in ids:
        st = sup.statuses.get(i)
        obj: dict[str, Any] = (process_object(st, mono, wall) if st
                               else {"id": i, "state": "STOPPED"})
        want = State.STOPPED if verb == "stop" else State.RUNNING
        obj["ok"] = obj["state"] == want.value and _settled(d, i, verb, old[i])
        results.append(obj)
    return {"results": results, "ok": all(r["ok"] for r in results)}


async def _logs(d: Daemon, params: dict[str, Any]) -> Any:
    """One process (`id`: lines are strings, as before) or many (`ids` patterns, default all:
    items are `{"id", "time", "line"}`), the backlog of each, then, with `follow`, new lines."""
    single = "id" in params
    ids = ([resolve_one(d, p.string(params, "id"))] if single
           else resolve_ids(d, p.ids(params) if "ids" in params else ["all"]))
    lines = p.count(params, "lines", 50)
    if not params.get("follow"):
        if single:
            return {"id": ids[0], "lines": await resolved(_recent(d, ids[0], lines, None))}
        return {"logs": [{"id": i, "lines": await resolved(_recent(d, i, lines, None))}
                         for i in ids]}
    from wezparallel.runtime.logstream import stream_lines

    sources = [(i, d.supervisor.log_path(i)) for i in ids]
    items = stream_lines(sources, lines, d.log_watch(), d.clock.wall,
                         recent=lambda i, _path, n, end: _recent(d, i, n, end))

    async def as_json() -> AsyncIterator[Any]:
        async for item in items:
            yield item.line if single else item.to_json()

    return as_json()


def _recent(d: Daemon, pid: str, lines: int,
            end: int | None) -> list[str] | Awaitable[list[str]]:
    """A pane's screen while it exists (full-screen programs are unreadable as a byte log),
    else the log file's last lines before `end`."""
    from wezparallel.backends.logfile import tail

    backend = d.supervisor.backend_of(pid)
    handle = d.supervisor.handles.get(pid)
    path = d.supervisor.log_path(pid)
    if backend is not None and handle is not None and handle.pane is not None:
        return backend.read_output(handle, path, lines)  # awaitable for tmux: see `resolved`
    return tail(path, lines, end=end)
