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
from wezparallel.ipc.hangup import cancel_on_hangup
from wezparallel.plan.lifecycle import UP_STATES, State
from wezparallel.runtime.daemon import Daemon
from wezparallel.runtime.status import resolve_ids

if TYPE_CHECKING:
    from wezparallel.agents.activity import AgentActivity
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

    return {"agent_event": agent_event, "wait": cancel_on_hangup(wait),
            "worktree_list": worktree_list,
            "worktree_remove": worktree_remove}


async def _wait(d: Daemon, params: dict[str, Any]) -> dict[str, Any]:
    """Until the agent is there; for a pattern, until every agent it matches is there at
    once (`any`: the first one). Non-agents a pattern matches are left out."""
    from wezparallel.agents.activity import AgentActivity

    pids = _agents(d, p.string(params, "id"))
    until = p.string(params, "until")
    if until not in WAIT_TARGETS:
        raise RemoteError("invalid_params", f"'until' must be one of {', '.join(WAIT_TARGETS)}")
    timeout = p.number(params, "timeout", DEFAULT_WAIT)
    # A failed turn ends the wait for its end (idle) or for a question (waiting) at once; one
    # waiting for the next turn to begin (busy) goes on waiting.
    targets = {AgentActivity(until)} | ({AgentActivity.ERROR} if until != "busy" else set())
    if params.get("any"):
        reached = await _first_to_reach(d, pids, targets, timeout)
    else:
        reached = pids if await _all_reach(d, pids, targets, timeout) else []
    _fail_on_failed_turns(d, reached, until)
    if not reached:
        late = [(pid, _current(d, pid)) for pid in pids if _current(d, pid) != until]
        if len(late) == 1 and len(pids) == 1:
            pid, current = late[0]
            raise RemoteError("failed", f"{pid} did not become {until} within {timeout:g}s "
                              f"(it is {current})")
        raise RemoteError("failed", "; ".join(
            f"{pid} did not become {until} within {timeout:g}s (it is {current})"
            for pid, current in late) or f"no agent became {until} within {timeout:g}s")
    agents = [{"id": pid, "activity": _current(d, pid), "activity_since": _since(d, pid)}
              for pid in reached]
    return {**agents[0], "agents": agents}


def _fail_on_failed_turns(d: Daemon, pids: list[str], until: str) -> None:
    failed = [(pid, act) for pid in pids if (act := d.agents.get(pid)) is not None
              and act.current.value == "error"]
    if failed:
        raise RemoteError("failed", "; ".join(
            f"{pid}: its turn failed ({act.reason or 'no reason'}), so it will not become "
            f"{until}" for pid, act in failed))


def _agents(d: Daemon, pattern: str) -> list[str]:
    """The agents a pattern names, each with an activity that can be known."""
    pids = resolve_ids(d, [pattern])
    specs = {pid: d.supervisor.desired.get(pid) for pid in pids}
    agents = [pid for pid, spec in specs.items() if spec is not None and spec.claude]
    if not agents:
        what = f"{pids[0]} is not a" if pids == [pattern] else f"'{pattern}' matches no"
        raise RemoteError("invalid_params", f"{what} claude agent")
    for pid in agents:
        spec = specs[pid]
        if spec is not None and spec.claude and not spec.claude.hooks \
                and d.agents.get(pid) is None:
            raise RemoteError("failed", f"{pid} runs without hooks (claude.hooks: false) and "
                              "not in a pane whose text could be read, so its activity is "
                              "not known")
    return agents


def _current(d: Daemon, pid: str) -> str:
    act = d.agents.get(pid)
    return act.current.value if act else "unknown"


def _since(d: Daemon, pid: str) -> float | None:
    act = d.agents.get(pid)
    return act.since if act else None


async def _all_reach(d: Daemon, pids: list[str], targets: set[AgentActivity],
                     timeout: float) -> bool:
    """True once every agent is in `targets` at the same moment: waiting for one at a time
    and checking them all again after each, so one that left meanwhile is waited for again."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        pending = [pid for pid in pids if not _in(d, pid, targets)]
        if not pending:
            return True
        left = deadline - loop.time()
        if left <= 0 or await d.agents.wait_for(pending[0], targets, left) is None:
            return False


async def _first_to_reach(d: Daemon, pids: list[str], targets: set[AgentActivity],
                          timeout: float) -> list[str]:
    """The agents in `targets` as soon as one is; [] when none gets there in time."""
    already = [pid for pid in pids if _in(d, pid, targets)]
    if already:
        return already[:1]
    tasks = {asyncio.ensure_future(d.agents.wait_for(pid, targets, timeout)): pid
             for pid in pids}
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
    return sorted(tasks[t] for t in done if t.result() is not None)[:1]


def _in(d: Daemon, pid: str, targets: set[AgentActivity]) -> bool:
    act = d.agents.get(pid)
    return act is not None and act.current in targets


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
