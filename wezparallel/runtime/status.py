"""The one status object: what `wezparctl status --json` prints and the socket returns."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wezparallel.errors import RemoteError
from wezparallel.events.model import id_matches
from wezparallel.plan.lifecycle import ProcessStatus, State, initial

if TYPE_CHECKING:  # the daemon builds its status file from this module
    from wezparallel.runtime.daemon import Daemon


def status_object(daemon: Daemon, patterns: list[str] | None = None) -> dict[str, Any]:
    """Every process, or those the patterns name; a pattern matching nothing is an error
    (`not_found`), as it is for every verb."""
    sup = daemon.supervisor
    mono, wall = daemon.clock.monotonic(), daemon.clock.wall()
    ids = sorted(resolve_ids(daemon, patterns)) if patterns else \
        sorted(sup.desired.keys() | sup.statuses.keys())
    processes = []
    for pid in ids:
        st = sup.statuses.get(pid)
        never_started = st is None
        st = st or initial(sup.desired[pid], mono)
        processes.append(process_object(st, mono, wall) | _cost(daemon, st)
                         | agent_fields(daemon, pid)
                         | {"autostart_off": never_started and not st.wanted})
    shown = set(ids)
    return {
        "processes": processes,
        "config": {"errors": [p.to_json() for p in daemon.config.problems],
                   "loaded_at": daemon.config.loaded_at},
        "notices": [n.to_json() for n in daemon.notices.recent() if n.process in shown],
    }


def process_object(st: ProcessStatus, mono: float, wall: float) -> dict[str, Any]:
    workspace, _, name = st.id.partition(":")
    exit = st.last_exit
    up = st.state in (State.RUNNING, State.STARTING) and st.started_at is not None
    return {
        "id": st.id, "workspace": workspace, "name": name, "state": st.state.value,
        "wanted": st.wanted, "pid": st.pid, "restarts": st.restarts,
        "exit_code": exit.code if exit and exit.known else None,
        "exit_signal": exit.signal if exit and exit.known else None,
        "exit": exit.describe() if exit else None,
        "since": wall - (mono - st.since),
        "uptime": mono - st.started_at if up and st.started_at is not None else None,
        "backend": st.backend, "pane": st.pane, "error": st.error, "health": st.health,
        "retry_in": max(0.0, st.retry_at - mono) if st.retry_at is not None else None,
    }


def _cost(daemon: Daemon, st: ProcessStatus) -> dict[str, Any]:
    """CPU and memory of the process tree from the latest metrics pass (None before one,
    and None once the instance is gone: the last pass may still hold the dead one)."""
    latest = daemon.metrics.latest if daemon.metrics is not None else None
    alive = st.pid is not None
    sample = latest.process(st.id) if latest is not None and alive else None
    return {"cpu_percent": sample.cpu_percent if sample else None,
            "rss": sample.rss if sample else None}


def agent_fields(daemon: Daemon, pid: str) -> dict[str, Any]:
    """An agent's activity (None for processes whose hooks do not report to us) and why (a
    permission prompt's message, a failed turn's error), what keeps it from working (not
    logged in, no network) until a turn succeeds, its session id (for `claude --resume`),
    and the reason of the last failed health check."""
    act = daemon.agents.get(pid)
    problem = daemon.agents.problems.get(pid)
    return {"activity": act.current.value if act else None,
            "activity_since": act.since if act else None,
            "activity_reason": act.reason if act else None,
            "agent_problem": problem.describe(pid) if problem else None,
            "session_id": daemon.agents.sessions.get(pid) or daemon.launcher.session_id(pid),
            "health_reason": daemon.health.reason(pid)}


def resolve_one(daemon: Daemon, pattern: str) -> str:
    """The one process a single-process verb (logs, capture, attach, metrics) works on: a
    pattern matching several is an error rather than a silent pick of the first."""
    found = resolve_ids(daemon, [pattern])
    if len(found) > 1:
        shown = ", ".join(found[:5]) + (", ..." if len(found) > 5 else "")
        raise RemoteError("invalid_params", f"'{pattern}' matches {len(found)} processes "
                          f"({shown}); name one")
    return found[0]


def resolve_ids(daemon: Daemon, patterns: list[str]) -> list[str]:
    """`ws:name`, `ws:*`, `ws` or `all` -> the known ids; an unknown one is an error."""
    sup = daemon.supervisor
    known = sorted(sup.desired.keys() | sup.statuses.keys())
    out: list[str] = []
    for pattern in patterns:
        found = [i for i in known if id_matches(i, pattern)]
        if not found:
            raise RemoteError("not_found", f"no process matches '{pattern}'")
        out.extend(i for i in found if i not in out)
    return out
