"""An example wezparallel plugin: every event, one JSON line, in a file.

The daemon calls `wezparallel_event` in a thread of this plugin's own, so writing a file here
never slows supervision. The file is `$WEZPARALLEL_EVENT_LOG`, or `event-log.ndjson` in the
daemon's state dir (`$WEZPARALLEL_STATE_DIR`); without either the plugin stays quiet.
`wezparctl event-log` prints the last lines of the same file.

It also adds a health probe kind, `path-exists` (healthy while `options.path` exists, relative
to the process's cwd), usable in workspace files once the plugin is installed:

    health: [{kind: path-exists, interval: 5s, options: {path: .ready}}]
"""

from __future__ import annotations

import json
import os
from collections import deque
from pathlib import Path
from typing import Any

import click
import pluggy

hookimpl = pluggy.HookimplMarker("wezparallel")


def _path() -> Path | None:
    if os.environ.get("WEZPARALLEL_EVENT_LOG"):
        return Path(os.environ["WEZPARALLEL_EVENT_LOG"])
    state = os.environ.get("WEZPARALLEL_STATE_DIR")
    return Path(state) / "event-log.ndjson" if state else None


@hookimpl
def wezparallel_event(event: dict[str, Any]) -> None:
    path = _path()
    if path is not None:
        with path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(event) + "\n")


@click.command("event-log")
@click.option("-n", "--lines", type=int, default=20, show_default=True)
def event_log(lines: int) -> None:
    """Print the last events the event-log plugin wrote."""
    path = _path()
    if path is None or not path.exists():
        raise click.ClickException("no event log yet (set WEZPARALLEL_EVENT_LOG)")
    with path.open(encoding="utf-8") as fh:
        for line in deque(fh, maxlen=lines):
            click.echo(line.rstrip("\n"))


@hookimpl
def wezparallel_commands() -> list[click.Command]:
    return [event_log]


def path_exists(options: dict[str, Any], context: dict[str, Any]) -> tuple[bool, str]:
    path = Path(context.get("cwd") or ".") / str(options.get("path", ""))
    if not options.get("path"):
        return False, "path-exists needs options.path"
    return path.exists(), f"no such path: {path}"


@hookimpl
def wezparallel_probe_kinds() -> dict[str, Any]:
    return {"path-exists": path_exists}
