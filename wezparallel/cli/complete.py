"""Shell completion of process ids and workspaces, for click's completion (bash, zsh, fish).

Names come from the running daemon (one `status` call with a short timeout, so a Tab never
hangs); when it does not answer, from the workspace files of the conf dir; when neither
works, nothing is offered. A completion never prints an error: the shell would show it in the
middle of the command line.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import click
from click.shell_completion import CompletionItem

from wezparallel.paths import Paths

ASK_TIMEOUT = 0.5  # seconds a Tab may wait for the daemon


def _paths(ctx: click.Context) -> Paths:
    """The root command's options: during completion its callback has not run, so they are
    read from the parsed parameters."""
    root = ctx.find_root().params
    return Paths.resolve(root.get("conf_dir"), root.get("state_dir"), root.get("socket_path"))


def known_ids(paths: Paths) -> list[str]:
    """Every process id, from the daemon or else from the conf dir; [] when neither works."""
    try:
        from wezparallel.ipc.client import Client

        with Client(paths.socket, timeout=ASK_TIMEOUT) as client:
            result = client.call("status", {"patterns": []})
        return sorted(str(p["id"]) for p in result["processes"])
    except Exception:  # down, slow, refused, or an older daemon: fall back quietly
        pass
    try:
        from wezparallel.spec.loader import load_conf_dir

        loaded = load_conf_dir(paths.conf_dir, os.environ)
        return sorted(p.id for ws in loaded.workspaces.values() for p in ws.processes)
    except Exception:
        return []


def _items(values: Iterable[str], incomplete: str) -> list[CompletionItem]:
    return [CompletionItem(v) for v in dict.fromkeys(values) if v.startswith(incomplete)]


def process_ids(ctx: click.Context, param: click.Parameter,
                incomplete: str) -> list[CompletionItem]:
    """One process: `ws:name`."""
    return _items(known_ids(_paths(ctx)), incomplete)


def workspaces(ctx: click.Context, param: click.Parameter,
               incomplete: str) -> list[CompletionItem]:
    return _items(sorted({i.partition(":")[0] for i in known_ids(_paths(ctx))}), incomplete)


def targets(ctx: click.Context, param: click.Parameter,
            incomplete: str) -> list[CompletionItem]:
    """What start/stop/restart/status accept: ids, workspaces, `ws:*` and `all`."""
    ids = known_ids(_paths(ctx))
    names = sorted({i.partition(":")[0] for i in ids})
    return _items([*ids, *names, *(f"{n}:*" for n in names), "all"], incomplete)
