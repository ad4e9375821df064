"""Socket methods, one module per command family; `handlers_for` gathers them for the server.

`FAMILIES` is the one table of which family serves which method. A family's module is
imported by the first call of one of its methods: a daemon that only supervises processes and
answers `status` never loads the task board's or the agents' methods, nor what they import
(the board's model, the typing of prompts into panes).
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wezparallel.runtime.daemon import Daemon

Handler = Callable[[dict[str, Any]], Awaitable[Any]]

FAMILIES: dict[str, str] = {
    **dict.fromkeys(("status", "start", "stop", "restart", "logs"), "process"),
    **dict.fromkeys(("plan", "reload", "templates", "workspace_create"), "config"),
    **dict.fromkeys(("ping", "shutdown"), "daemon"),
    **dict.fromkeys(("metrics_snapshot", "metrics_history"), "metrics"),
    **dict.fromkeys(("send", "capture", "attach", "layout"), "pane"),
    **dict.fromkeys(("agent_event", "wait", "worktree_list", "worktree_remove"), "agent"),
    **dict.fromkeys(("subscribe", "plugins", "report"), "events"),
    **dict.fromkeys(("task_add", "task_list", "task_show", "task_move", "task_assign",
                     "task_cancel", "task_edit", "task_diff", "task_merge", "worktree_prune"),
                    "task"),
}
"""method -> the module of this package whose `handlers(daemon)` serves it."""


class Handlers(Mapping[str, Handler]):
    """Every method of one daemon by name, each family built on the first look-up of one of
    its methods; `add` serves one more that lives outside the families (the dashboard's)."""

    def __init__(self, daemon: Daemon) -> None:
        self._daemon = daemon
        self._built: dict[str, Handler] = {}
        self._added: dict[str, Handler] = {}

    def add(self, method: str, handler: Handler) -> None:
        self._added[method] = handler

    def __getitem__(self, method: str) -> Handler:
        found = self._added.get(method) or self._built.get(method)
        if found is None:
            family = importlib.import_module(f"{__name__}.{FAMILIES[method]}")
            self._built.update(family.handlers(self._daemon))
            found = self._built[method]
        return found

    def __contains__(self, method: object) -> bool:
        return method in FAMILIES or method in self._added

    def __iter__(self) -> Iterator[str]:
        return iter({**FAMILIES, **self._added})

    def __len__(self) -> int:
        return len(FAMILIES.keys() | self._added.keys())


def handlers_for(d: Daemon) -> Handlers:
    return Handlers(d)
