"""plan, reload, templates, workspace_create: the config side."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from wezparallel.errors import RemoteError, WezparallelError
from wezparallel.ipc.handlers import params as p
from wezparallel.plan.actions import describe, to_json
from wezparallel.runtime.daemon import Daemon
from wezparallel.runtime.status import status_object


def handlers(d: Daemon) -> dict[str, Callable[[dict[str, Any]], Awaitable[Any]]]:
    async def plan(params: dict[str, Any]) -> Any:
        snapshot = d.read_config()
        preview = d.preview(snapshot)
        return _plan_object(preview.actions, snapshot.problems)

    async def reload(params: dict[str, Any]) -> Any:
        snapshot, applied = d.reload()
        return _plan_object(applied.actions, snapshot.problems)

    async def templates(params: dict[str, Any]) -> Any:
        from wezparallel.spec.templates import list_templates

        return {"templates": [{"name": n, "description": desc}
                              for n, desc in list_templates()]}

    async def workspace_create(params: dict[str, Any]) -> Any:
        from wezparallel.spec.templates import write_workspace

        name = p.string(params, "name")
        template = params.get("template") or "basic"
        try:
            write_workspace(d.paths.conf_dir, name, str(template))
        except WezparallelError as exc:
            raise RemoteError("failed", str(exc)) from exc
        d.reload()
        await d.supervisor.wait_until(lambda: not d.supervisor.plan().actions, 5.0)
        return status_object(d, [f"{name}:*"])

    return {"plan": plan, "reload": reload, "templates": templates,
            "workspace_create": workspace_create}


def _plan_object(actions: Any, problems: Any) -> dict[str, Any]:
    return {"actions": [to_json(a) | {"text": describe(a)} for a in actions],
            "errors": [pr.to_json() for pr in problems]}
