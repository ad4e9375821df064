"""agent_event, wait, worktree_list, worktree_remove: the agents' side.

`agent_event` is called by Claude Code's hooks through the reporter, on every tool use, and
the agent waits for our reply before using the tool: it only updates memory and answers.
Worktree methods run git, which can take a while, in a worker thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wezparallel.errors import RemoteError, WezparallelError
from wezparallel.ipc.handlers import params as p
from wezparallel.plan.lifecycle import UP_STATES, State
from wezparallel.runtime.daemon import Daemon
from wezparallel.runtime.status import resolve_ids

if TYPE_CHECKING:
    from wezparallel.spec.model import ProcessSpec

WAIT_TARGETS = ("idle", "waiting", "busy")
DEFAULT_WAIT = 300.0  # seconds


def handlers(d: Daemon) -> dict[str, Callable[[dict[str, Any]], Awaitable[Any]]]:
    async def agent_event(params: dict[str, Any]) -> Any:
        session, hook = params.get("session_id"), params.get("hook")
        d.agents.on_event(p.string(params, "id"), p.string(params, "event"),
                          session if isinstance(session, str) else None,
                          hook if isinstance(hook, dict) else None)
        return {}

    async def wait(params: dict[str, Any]) -> Any:
        return await _wait(d, params)

    async def worktree_list(params: dict[str, Any]) -> Any:
        return {"worktrees": await asyncio.to_thread(_list, _worktree_specs(d))}

    async def worktree_remove(params: dict[str, Any]) -> Any:
        spec = _removable(d, p.string(params, "id"))
        force = params.get("force", False)
        if not isinstance(force, bool):
            raise RemoteError("invalid_params", "'force' must be true or false")
        return await asyncio.to_thread(_remove, spec, force)

    return {"agent_event": agent_event, "wait": wait, "worktree_list": worktree_list,
            "worktree_remove": worktree_remove}


async def _wait(d: Daemon, params: dict[str, Any]) -> dict[str, Any]:
    from wezparallel.agents.activity import AgentActivity

    (pid,) = resolve_ids(d, [p.string(params, "id")])[:1]
    until = p.string(params, "until")
    if until not in WAIT_TARGETS:
        raise RemoteError("invalid_params", f"'until' must be one of {', '.join(WAIT_TARGETS)}")
    timeout = p.number(params, "timeout", DEFAULT_WAIT)
    spec = d.supervisor.desired.get(pid)
    if spec is None or spec.claude is None:
        raise RemoteError("invalid_params", f"{pid} is not a claude agent")
    if not spec.claude.hooks and d.agents.get(pid) is None:
        raise RemoteError("failed", f"{pid} runs without hooks (claude.hooks: false) and not "
                          "in a pane whose text could be read, so its activity is not known")
    # A failed turn ends the wait for its end (idle) or for a question (waiting) at once; one
    # waiting for the next turn to begin (busy) goes on waiting.
    ends = {AgentActivity(until)} | ({AgentActivity.ERROR} if until != "busy" else set())
    act = await d.agents.wait_for(pid, ends, timeout)
    if act is not None and act.current == AgentActivity.ERROR:
        raise RemoteError("failed", f"{pid}: its turn failed ({act.reason or 'no reason'}), "
                          f"so it will not become {until}")
    if act is None:
        now = d.agents.get(pid)
        current = now.current.value if now else "unknown"
        raise RemoteError("failed", f"{pid} did not become {until} within {timeout:g}s "
                          f"(it is {current})")
    return {"id": pid, "activity": act.current.value, "activity_since": act.since}


# --- worktrees ---------------------------------------------------------------------------------

def _worktree_specs(d: Daemon) -> list[ProcessSpec]:
    """Processes with `worktree:` that the daemon knows, in the config or still running."""
    sup = d.supervisor
    specs = {**{i: st.spec for i, st in sup.statuses.items() if st.spec is not None},
             **sup.desired}
    return [specs[i] for i in sorted(specs) if specs[i].worktree is not None]


def _list(specs: list[ProcessSpec]) -> list[dict[str, Any]]:
    from wezparallel.agents.worktree import list_worktrees, main_checkout, worktree_path

    out: list[dict[str, Any]] = []
    listed: dict[Path, dict[Path, Any]] = {}  # repository root -> its worktrees by path
    for spec in specs:
        assert spec.worktree is not None
        row: dict[str, Any] = {"id": spec.id, "path": None, "branch": None, "exists": False,
                               "dirty": False, "changes": 0, "ahead": 0, "error": None}
        try:
            root = main_checkout(spec.cwd)
            if root not in listed:
                listed[root] = {Path(e.path).resolve(): e for e in list_worktrees(root)}
            path = worktree_path(root, spec.workspace, spec.name, spec.worktree)
        except WezparallelError as exc:
            out.append(row | {"error": str(exc)})
            continue
        entry = listed[root].get(path)
        row["path"] = str(path)
        if entry is not None:
            row |= {"branch": entry.branch, "exists": True, "dirty": entry.dirty,
                    "changes": entry.changes, "ahead": entry.ahead}
        out.append(row)
    return out


def _removable(d: Daemon, pid: str) -> ProcessSpec:
    spec = next((s for s in _worktree_specs(d) if s.id == pid), None)
    if spec is None:
        resolve_ids(d, [pid])  # not_found for an unknown id
        raise RemoteError("invalid_params", f"{pid} has no worktree (no `worktree:` in its "
                          "config)")
    st = d.supervisor.statuses.get(pid)
    if st is not None and st.state in UP_STATES | {State.STOPPING}:
        raise RemoteError("failed", f"{pid} is {st.state.value} in its worktree; stop it "
                          f"first (wezparctl stop {pid})")
    return spec


def _remove(spec: ProcessSpec, force: bool) -> dict[str, Any]:
    from wezparallel.agents.worktree import main_checkout, remove_worktree, worktree_path

    assert spec.worktree is not None
    try:
        root = main_checkout(spec.cwd)
        path = worktree_path(root, spec.workspace, spec.name, spec.worktree)
        entry = remove_worktree(path, force=force)
    except WezparallelError as exc:
        raise RemoteError("failed", f"{spec.id}: {exc}") from exc
    return {"id": spec.id, "path": entry.path, "branch": entry.branch,
            "discarded_changes": entry.changes}
