"""top, metrics: what processes cost, now (a live table) and over time (history, sparklines).

Imports only the pure renderer and the socket client (through `remote`): the sampler and
psutil live in the daemon. The formatting functions below are pure, taking daemon data.
"""

from __future__ import annotations

import csv
import io
import json
import os
import select
import shutil
import sys
import termios
import tty
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any, TextIO

import click

from wezparallel.cli import complete
from wezparallel.cli.remote import EXIT_FAILED, call, print_json
from wezparallel.errors import PermanentError
from wezparallel.metrics import render
from wezparallel.metrics.settings import parse_duration
from wezparallel.metrics.snapshot import Snapshot

HOME, CLEAR_LINE, CLEAR_BELOW, CLEAR = "\x1b[H", "\x1b[K", "\x1b[J", "\x1b[2J"
HIDE_CURSOR, SHOW_CURSOR = "\x1b[?25l", "\x1b[?25h"


@dataclass(frozen=True)
class HistoryPoint:
    t: float  # epoch seconds
    cpu: float  # percent of one core
    rss: float  # bytes


def parse_points(result: dict[str, Any]) -> list[HistoryPoint]:
    """The daemon's `metrics_history` answer -> points; a malformed one is a clean error."""
    try:
        return [HistoryPoint(float(p["t"]), float(p["cpu"]), float(p["rss"]))
                for p in result["points"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise PermanentError(f"the daemon sent unreadable metrics history ({exc!r})") from exc


def parse_snapshot(result: dict[str, Any]) -> Snapshot:
    try:
        return Snapshot.from_json(result)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise PermanentError(f"the daemon sent an unreadable metrics snapshot ({exc!r})") from exc


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def history_csv(process_id: str, points: Sequence[HistoryPoint]) -> str:
    """One row per point; times both as epoch seconds and as ISO-8601 UTC for spreadsheets."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "t", "time", "cpu_percent", "rss_bytes"])
    for p in points:
        writer.writerow([process_id, f"{p.t:.3f}", _iso(p.t), f"{p.cpu:.1f}", int(p.rss)])
    return out.getvalue()


def history_json(process_id: str, since_seconds: float, points: Sequence[HistoryPoint]) -> str:
    return json.dumps({"id": process_id, "since_seconds": since_seconds,
                       "points": [{"t": p.t, "cpu": p.cpu, "rss": p.rss} for p in points]},
                      indent=2, sort_keys=True)


def history_lines(points: Sequence[HistoryPoint], tz: tzinfo | None = None) -> list[str]:
    """Plain lines for a pipe or a log: local time, CPU, memory."""
    if not points:
        return ["no samples in that range"]
    return [f"{datetime.fromtimestamp(p.t, tz).strftime('%Y-%m-%d %H:%M:%S')}  "
            f"cpu {p.cpu:5.1f}%  rss {render.human_size(p.rss):>6}" for p in points]


def sparkline_lines(process_id: str, since: str, points: Sequence[HistoryPoint],
                    width: int) -> list[str]:
    """Two sparklines (CPU from 0, memory over its own range) with their last and peak values."""
    if not points:
        return [f"{process_id}: no samples in the last {since}"]
    cpu = [p.cpu for p in points]
    rss = [p.rss for p in points]
    room = max(8, width - 36)
    return [
        f"{process_id}  last {since}  ({len(points)} samples)",
        f"cpu {render.sparkline(cpu, room, lo=0.0)}  "
        f"now {cpu[-1]:.1f}%  max {max(cpu):.1f}%",
        f"mem {render.sparkline(rss, room)}  "
        f"now {render.human_size(rss[-1])}  max {render.human_size(max(rss))}",
    ]


def snapshot_csv(snap: Snapshot) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "pid", "cpu_percent", "rss_bytes", "threads", "open_files",
                     "children"])
    for p in render.sort_processes(snap.processes, "cpu"):
        writer.writerow([p.id, p.pid, f"{p.cpu_percent:.1f}", p.rss, p.threads, p.open_files,
                         p.children])
    return out.getvalue()


def current_lines(snap: Snapshot, sort: str, width: int) -> list[str]:
    """The figures once, for a pipe or a script: no title, no key help, every process."""
    head = render.header_lines(snap, sort)[1:]
    return [*head, "", *render.table_lines(render.sort_processes(snap.processes, sort), width)]


def top_frame(lines: Sequence[str]) -> str:
    """Redraw in place: home, each line clearing its old tail, then clear what is below.

    Overwriting instead of clearing the screen first avoids flicker over slow SSH links.
    """
    return HOME + "".join(f"{line}{CLEAR_LINE}\n" for line in lines) + CLEAR_BELOW


def next_sort(keys: str, sort: str) -> tuple[str, bool]:
    """Apply typed keys to the sort order: c/m choose it, q quits. -> (sort, quit)."""
    for key in keys.lower():
        if key == "q":
            return sort, True
        if key == "c":
            sort = "cpu"
        elif key == "m":
            sort = "mem"
    return sort, False


@contextmanager
def cbreak(stream: TextIO) -> Iterator[int | None]:
    """Keys without Enter and without echo, restored on the way out; None when not a tty."""
    if not stream.isatty():
        yield None
        return
    fd = stream.fileno()
    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd)
    try:
        yield fd
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def read_keys(fd: int | None, timeout: float) -> str:
    """Keys typed within `timeout` seconds (waits the whole time when nobody can type)."""
    ready = select.select([fd] if fd is not None else [], [], [], timeout)[0]
    return os.read(fd, 64).decode(errors="replace") if fd is not None and ready else ""


def _fail(exc: PermanentError) -> None:
    click.echo(f"wezparctl: {exc}", err=True)
    sys.exit(EXIT_FAILED)


def _live_top(ctx: click.Context, sort: str, interval: float, iterations: int) -> None:
    out = sys.stdout
    out.write(HIDE_CURSOR + CLEAR)
    count = 0
    try:
        with cbreak(sys.stdin) as fd:
            while True:
                snap = parse_snapshot(call(ctx, "metrics_snapshot", timeout=10))
                size = shutil.get_terminal_size()
                # one line spare so the last row never scrolls the screen
                out.write(top_frame(render.top_lines(snap, sort, size.columns, size.lines - 1)))
                out.flush()
                count += 1
                if iterations and count >= iterations:
                    return
                sort, quit = next_sort(read_keys(fd, interval), sort)
                if quit:
                    return
    except KeyboardInterrupt:
        pass
    finally:
        out.write(SHOW_CURSOR)
        out.flush()


@click.command()
@click.option("--sort", type=click.Choice(render.SORT_KEYS), default="cpu", show_default=True,
              help="Initial order; press c or m to switch.")
@click.option("--interval", type=click.FloatRange(min=0.2), default=2.0, show_default=True,
              help="Seconds between refreshes.")
@click.option("-n", "--iterations", type=click.IntRange(min=0), default=0,
              help="Stop after N refreshes (default: until q; 1 when stdout is not a terminal).")
@click.pass_context
def top(ctx: click.Context, sort: str, interval: float, iterations: int) -> None:
    """Live CPU and memory of every process tree; q quits, c/m sort by CPU/memory."""
    try:
        if sys.stdout.isatty():
            _live_top(ctx, sort, interval, iterations)
            return
        snap = parse_snapshot(call(ctx, "metrics_snapshot", timeout=10))
        click.echo("\n".join(current_lines(snap, sort, width=200)))
    except PermanentError as exc:
        _fail(exc)


@click.command()
@click.argument("process_id", required=False, shell_complete=complete.process_ids)
@click.option("--since", default="1h", show_default=True,
              help="How far back: 90s, 15m, 1h, 7d.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV.")
@click.pass_context
def metrics(ctx: click.Context, process_id: str | None, since: str, as_json: bool,
            as_csv: bool) -> None:
    """History of one process (sparklines in a terminal); without ID, the current figures."""
    if as_json and as_csv:
        raise click.UsageError("--json and --csv exclude each other")
    try:
        seconds = parse_duration(since)
    except PermanentError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from exc
    try:
        if process_id is None:
            _print_current(ctx, as_json, as_csv)
        else:
            _print_history(ctx, process_id, since, seconds, as_json, as_csv)
    except PermanentError as exc:
        _fail(exc)


def _print_current(ctx: click.Context, as_json: bool, as_csv: bool) -> None:
    result = call(ctx, "metrics_snapshot", timeout=10)
    snap = parse_snapshot(result)
    if as_json:
        print_json(result)
    elif as_csv:
        click.echo(snapshot_csv(snap), nl=False)
    else:
        click.echo("\n".join(current_lines(snap, "cpu", shutil.get_terminal_size().columns)))


def _print_history(ctx: click.Context, process_id: str, since: str, seconds: float,
                   as_json: bool, as_csv: bool) -> None:
    points = parse_points(call(ctx, "metrics_history",
                               {"id": process_id, "since_seconds": seconds}))
    if as_json:
        click.echo(history_json(process_id, seconds, points))
    elif as_csv:
        click.echo(history_csv(process_id, points), nl=False)
    elif sys.stdout.isatty():
        click.echo("\n".join(sparkline_lines(process_id, since, points,
                                             shutil.get_terminal_size().columns)))
    else:
        click.echo("\n".join(history_lines(points)))
