"""`wezparctl logs`: one process's output, or many interleaved with a coloured `id |` prefix,
the way `docker compose logs`, overmind and `pm2 logs` show them."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable
from typing import Any

import click

from wezparallel.cli import complete
from wezparallel.cli.remote import call, stream

PALETTE = ("cyan", "yellow", "green", "magenta", "blue", "bright_cyan", "bright_yellow",
           "bright_green", "bright_magenta", "bright_blue", "red")


def colour_of(pid: str) -> str:
    """Stable per id across runs, so `web:api` keeps its colour from one `logs -f` to the next."""
    return PALETTE[zlib.crc32(pid.encode()) % len(PALETTE)]


def prefixed(pid: str, line: str, width: int) -> str:
    return click.style(f"{pid:<{width}} |", fg=colour_of(pid)) + f" {line}"


class Printer:
    """Turns `{"id", "time", "line"}` items into what the user asked for."""

    def __init__(self, ids: Iterable[str], *, as_json: bool, prefix: bool) -> None:
        self.width = max((len(i) for i in ids), default=0)
        self.as_json = as_json
        self.prefix = prefix

    def show(self, item: dict[str, Any]) -> None:
        if self.as_json:
            click.echo(json.dumps(item, sort_keys=True))
        elif self.prefix:
            self.width = max(self.width, len(item["id"]))
            click.echo(prefixed(item["id"], item["line"], self.width))
        else:
            click.echo(item["line"])


@click.command()
@click.argument("patterns", nargs=-1, shell_complete=complete.targets)
@click.option("-n", "--lines", type=click.IntRange(min=0), default=50, show_default=True,
              help="Lines of backlog per process.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new output.")
@click.option("--no-prefix", is_flag=True, help="Print lines without the `id |` prefix.")
@click.option("--json", "as_json", is_flag=True,
              help='One JSON object per line: {"id", "time", "line"} (time null for backlog).')
@click.pass_context
def logs(ctx: click.Context, patterns: tuple[str, ...], lines: int, follow: bool,
         no_prefix: bool, as_json: bool) -> None:
    """Print what processes wrote (stdout and stderr): ids, `ws:*`, a workspace or `all`
    (the default). Several processes are interleaved with an `id |` prefix: each one's last
    lines first, then, with -f, every new line as it is written."""
    params: dict[str, Any] = {"ids": list(patterns) or ["all"], "lines": lines}
    if not follow:
        blocks = call(ctx, "logs", params)["logs"]
        printer = Printer([b["id"] for b in blocks], as_json=as_json,
                          prefix=not no_prefix and _many(patterns, len(blocks)))
        for block in blocks:
            for line in block["lines"]:
                printer.show({"id": block["id"], "time": None, "line": line})
        return
    printer = Printer([], as_json=as_json, prefix=not no_prefix and _many(patterns, 1))
    try:
        for item in stream(ctx, "logs", params | {"follow": True}):
            printer.show(item)
    except KeyboardInterrupt:
        pass


def _many(patterns: tuple[str, ...], matched: int) -> bool:
    """A prefix is worth its width when more than one process can show up: several matched,
    or a pattern that is not one plain id."""
    return matched > 1 or len(patterns) != 1 or ":" not in patterns[0] or "*" in patterns[0]
