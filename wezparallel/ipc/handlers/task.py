"""task_*: the board's socket methods (the CLI's `wezparctl task` and the dashboard call these),
and worktree_prune.

Every change returns the task as it is afterwards and is published as a `task` event, so a
board that follows `subscribe` needs nothing else. Git work (diff, merge, prune) runs in a
worker thread: a merge of a big branch must not hold up supervision.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from wezparallel.errors import RemoteError
from wezparallel.ipc.handlers import params as p
from wezparallel.runtime.daemon import Daemon
from wezparallel.tasks.model import STATUSES, Task, TaskError, TaskStatus

EDITABLE = {"title": str, "body": str, "priority": int, "after": list, "workspace": str,
            "to": (str, type(None))}


def handlers(d: Daemon) -> dict[str, Callable[[dict[str, Any]], Awaitable[Any]]]:
    async def task_add(params: dict[str, Any]) -> Any:
        return _out(d.board.add(
            p.string(params, "title"), _opt(params, "body", str) or "",
            _opt(params, "workspace", str), _opt(params, "to", str),
            tuple(_ids(params, "after")), _opt(params, "priority", int) or 0,
            placed=params.get("placed", True) is not False))

    async def task_list(params: dict[str, Any]) -> Any:
        status = _opt(params, "status", str)
        if status is not None and status not in STATUSES:
            raise RemoteError("invalid_params", f"'status' must be one of {', '.join(STATUSES)}")
        tasks = d.board.listed(status, _opt(params, "workspace", str))
        return {"tasks": [t.to_json() for t in tasks], "statuses": list(STATUSES)}

    async def task_show(params: dict[str, Any]) -> Any:
        return _out(d.board.live(d.board.get(p.string(params, "id"))))

    async def task_move(params: dict[str, Any]) -> Any:
        return _out(d.board.move(p.string(params, "id"), p.string(params, "status"),
                               _opt(params, "note", str)))

    async def task_assign(params: dict[str, Any]) -> Any:
        return _out(d.board.assign(p.string(params, "id"), p.string(params, "agent")))

    async def task_cancel(params: dict[str, Any]) -> Any:
        return _out(d.board.cancel(p.string(params, "id")))

    async def task_edit(params: dict[str, Any]) -> Any:
        changes = {k: _opt(params, k, kind) for k, kind in EDITABLE.items() if k in params}
        if not changes:
            raise RemoteError("invalid_params", f"nothing to change: give one of "
                              f"{', '.join(EDITABLE)}")
        return _out(d.board.edit(p.string(params, "id"), changes))

    async def task_diff(params: dict[str, Any]) -> Any:
        task = d.board.get(p.string(params, "id"))
        worktree, base = _review_target(d, task)
        from wezparallel.agents.review import diff

        text = await asyncio.to_thread(diff, worktree, base)
        return {"id": task.id, "branch": task.branch, "base": base, "diff": text}

    async def task_merge(params: dict[str, Any]) -> Any:
        return await _merge(d, d.board.get(p.string(params, "id")), bool(params.get("squash")))

    async def worktree_prune(params: dict[str, Any]) -> Any:
        from wezparallel.agents.worktree import prune_worktrees

        specs = [s for s in d.supervisor.desired.values() if s.worktree is not None]
        repos = sorted({s.cwd for s in specs} | {str(r) for r in _repos(params)})
        keep = {(s.workspace, s.name) for s in specs}
        return await asyncio.to_thread(prune_worktrees, repos, keep,
                                       bool(params.get("dry_run")))

    return {"task_add": task_add, "task_list": task_list, "task_show": task_show,
            "task_move": task_move, "task_assign": task_assign, "task_cancel": task_cancel,
            "task_edit": task_edit, "task_diff": task_diff, "task_merge": task_merge,
            "worktree_prune": worktree_prune}


def _repos(params: dict[str, Any]) -> list[str]:
    """Repositories named by the caller, for agents removed from every workspace file."""
    value = params.get("repos") or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RemoteError("invalid_params", "'repos' must be a list of directories")
    return value


def _out(task: Task) -> dict[str, Any]:
    return task.to_json()


def _opt(params: dict[str, Any], key: str, kind: Any) -> Any:
    value = params.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, kind):
        name = getattr(kind, "__name__", "a string or null")
        raise RemoteError("invalid_params", f"'{key}' must be {name}")
    if key == "after":
        return _ids(params, "after")
    return value


def _ids(params: dict[str, Any], key: str) -> list[str]:
    value = params.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RemoteError("invalid_params", f"'{key}' must be a list of task ids")
    return value


def _review_target(d: Daemon, task: Task) -> tuple[str, str]:
    """The agent's worktree and the commit the task started from."""
    from wezparallel.agents.review import agent_checkout

    spec = d.supervisor.desired.get(task.agent or "")
    if task.branch is None or task.base_commit is None or spec is None or spec.worktree is None:
        raise TaskError(f"{task.id} has no branch to review: its agent "
                        f"({task.agent or 'none'}) works without `worktree:`")
    checkout = agent_checkout(spec)
    if checkout is None:
        raise TaskError(f"{task.id}: the worktree of {task.agent} is gone")
    return str(checkout.path), task.base_commit


async def _merge(d: Daemon, task: Task, squash: bool) -> dict[str, Any]:
    from wezparallel.agents.review import merge

    if task.status not in (TaskStatus.REVIEW, TaskStatus.DONE):
        raise TaskError(f"{task.id} is {task.status.value}; merge it once it is in review")
    _review_target(d, task)
    spec = d.supervisor.desired[task.agent or ""]
    assert task.branch is not None
    message = f"Merge {task.id}: {task.title}"
    head = await asyncio.to_thread(merge, spec.cwd, task.branch, squash, message)
    moved = d.board.move(task.id, TaskStatus.DONE.value)
    return {"id": task.id, "branch": task.branch, "merged": head, "squash": squash,
            "task": moved.to_json()}
