"""status, start, stop, restart, logs: what users do to processes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from wezparallel.backends.base import resolved
from wezparallel.ipc.handlers import params as p
from wezparallel.plan.lifecycle import UP_STATES, State
from wezparallel.runtime.daemon import Daemon
from wezparallel.runtime.status import process_object, resolve_ids, status_object

DEFAULT_TIMEOUT = 30.0  # seconds a start/stop/restart waits for its outcome


def handlers(d: Daemon) -> dict[str, Callable[[dict[str, Any]], Awaitable[Any]]]:
    async def status(params: dict[str, Any]) -> Any:
        patterns = params.get("patterns") or None
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
        return st.state not in UP_STATES | {State.STOPPING}
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
    from wezparallel.backends.logfile import follow, tail

    (pid,) = resolve_ids(d, [p.string(params, "id")])[:1]
    lines = int(p.number(params, "lines", 50))
    path = d.supervisor.log_path(pid)
    backend = d.supervisor.backend_of(pid)
    handle = d.supervisor.handles.get(pid)
    recent = await resolved(backend.read_output(handle, path, lines)) if backend \
        else tail(path, lines)
    if not params.get("follow"):
        return {"id": pid, "lines": recent}

    async def stream() -> AsyncIterator[str]:
        for line in recent:
            yield line
        async for line in follow(path):
            yield line

    return stream()
