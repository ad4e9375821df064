"""events, report, plugins: what happened, what it adds up to, and what extends the daemon."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from typing import Any

import click

EVENT_TYPES = ("state", "activity", "health", "config", "notice", "daemon", "task")


def parse_since(text: str | None, now: float) -> dict[str, Any]:
    """`--since`: a sequence number (`1234`) or a duration back from now (`90s`, `1h`, `2d`)."""
    if text is None:
        return {"since": 0}
    if text.isdigit():
        return {"since": int(text)}
    from wezparallel.spec.units import UnitError, parse_duration

    days = text.endswith("d") and text[:-1].replace(".", "", 1).isdigit()
    try:
        seconds = float(text[:-1]) * 86400 if days else parse_duration(text)
    except UnitError:
        raise click.BadParameter(f"expected a sequence number or a duration like 30m, 1h, "
                                 f"2d, got {text!r}", param_hint="'--since'") from None
    return {"since_time": now - seconds}


def describe(event: dict[str, Any]) -> str:
    """What happened, in a few words: `RUNNING -> BACKOFF (exit 1)`."""
    kind = event.get("type")
    if kind == "state":
        why = _exit_text(event) or event.get("reason")
        return f"{event['from']} -> {event['to']}" + (f" ({why})" if why else "")
    if kind == "activity":
        return f"activity {event.get('from') or '-'} -> {event['to']}"
    if kind == "health":
        why = event.get("reason")
        return f"health {event['from']} -> {event['to']}" + (f" ({why})" if why else "")
    if kind == "config":
        return (f"reload: {len(event.get('files', []))} files, {len(event.get('refused', []))} "
                f"refused, {len(event.get('plan', []))} changes")
    if kind == "daemon":
        what = event.get("what")
        if what == "adopted":
            return f"daemon adopted {event.get('count', 0)} processes"
        down = event.get("previous_seen")
        after = f"; down {_down_for(event['time'] - down)}" if isinstance(down, (int, float)) \
            and what == "started" else ""
        return f"daemon {what}" + (f" (pid {event['pid']}{after})" if event.get("pid") else "")
    if kind == "task":
        task = event.get("task") or {}
        move = f" {event['from']} -> {event['to']}" if event.get("from") != event.get("to") \
            else ""
        return f"task {task.get('id')} {event.get('change')}{move}: {task.get('title', '')}"
    if kind in ("notice", "lagged"):
        return f"{kind}: {event.get('message', '')}"
    return str(kind)


def _down_for(seconds: float) -> str:
    from wezparallel.cli.format import duration

    return duration(max(0.0, seconds))


def _exit_text(event: dict[str, Any]) -> str | None:
    if event.get("exit_signal") is not None:
        import signal

        try:
            return f"killed by {signal.Signals(event['exit_signal']).name}"
        except ValueError:
            return f"killed by signal {event['exit_signal']}"
    if event.get("exit_code") is not None:
        return f"exit {event['exit_code']}"
    return None


def event_line(event: dict[str, Any]) -> str:
    stamp = time.strftime("%H:%M:%S", time.localtime(event.get("time", 0)))
    return f"{stamp}  {event.get('id') or '-':<20}  {describe(event)}"


@click.command()
@click.argument("patterns", nargs=-1)
@click.option("--type", "types", multiple=True, type=click.Choice(EVENT_TYPES),
              help="Only events of this type (repeatable).")
@click.option("--since", default=None, metavar="1h|SEQ",
              help="From this long ago, or after this sequence number [default: all kept].")
@click.option("-f", "--follow", is_flag=True, help="Then keep printing new events.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_context
def events(ctx: click.Context, patterns: tuple[str, ...], types: tuple[str, ...],
           since: str | None, follow: bool, as_json: bool) -> None:
    """Print events from the journal (and, with -f, live ones, with no gap between)."""
    params = {"patterns": list(patterns), "types": list(types), "follow": follow,
              "snapshot": False, "batch": True} | parse_since(since, time.time())
    try:
        _print_events(ctx, params, as_json)
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:  # `events | head`
        sys.stderr.close()


def _print_events(ctx: click.Context, params: dict[str, Any], as_json: bool) -> None:
    """Print the stream; a daemon that goes away after announcing it stops ends it (exit 0),
    as its last events may race the closing of its socket."""
    from wezparallel.cli.remote import _errors_to_exit_codes
    from wezparallel.errors import IpcError
    from wezparallel.ipc.client import Client

    out, stopping = sys.stdout, False
    with _errors_to_exit_codes(), Client(ctx.obj.paths.socket, timeout=None) as client:
        try:
            for batch in client.stream("subscribe", params):
                for event in batch or ():
                    out.write((json.dumps(event, separators=(",", ":")) if as_json
                               else event_line(event)) + "\n")
                    stopping = stopping or event.get("what") == "stopping"
                    if event.get("type") == "lagged":
                        out.flush()
                        sys.exit(1)
                out.flush()
        except IpcError:
            if not stopping:
                raise


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def plugins(ctx: click.Context, as_json: bool) -> None:
    """List the plugins the daemon loaded, from which distribution, and what failed to load."""
    from wezparallel.cli.remote import call, print_json

    result = call(ctx, "plugins")
    if as_json:
        print_json(result)
        return
    if not result["plugins"]:
        click.echo("no plugins (distributions with entry points in the group `wezparallel`)")
    for p in result["plugins"]:
        what = f"FAILED: {p['error']}" if p["error"] else ", ".join(p["hooks"]) or "no hooks"
        click.echo(f"{p['name']:<20} {p['distribution']} {p['version']}  {what}")
    sys.exit(1 if any(p["error"] for p in result["plugins"]) else 0)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}%"


def report_lines(result: dict[str, Any]) -> list[str]:
    from wezparallel.cli.format import duration

    def span(seconds: float | None) -> str:
        return "-" if not seconds else duration(seconds)

    rows = [("PROCESS", "UPTIME", "RESTARTS", "CRASHES", "BACKOFF", "FATAL", "MTBC")]
    rows += [(p["id"], _percent(p["uptime_percent"]), str(p["restarts"]), str(p["crashes"]),
              span(p["backoff"]), span(p["fatal"]), span(p["mean_time_between_crashes"]))
             for p in result["processes"]]
    lines = _table(rows) if result["processes"] else ["no process events in this window"]
    if result.get("daemon_down"):
        lines = [f"daemon down {duration(result['daemon_down'])} of this window "
                 "(counted in no figure below)", "", *lines]
    if result["agents"]:
        agents = [("AGENT", "BUSY", "WAITING", "IDLE")]
        agents += [(a["id"], span(a["busy"]), span(a["waiting"]), span(a["idle"]))
                   for a in result["agents"]]
        lines += ["", *_table(agents)]
    if result.get("tasks"):
        tasks = [("TASK", "AGENT", "STATUS", "BUSY", "WAITING", "TITLE")]
        tasks += [(t["id"], t["agent"], t["status"], span(t["busy"]), span(t["waiting"]),
                   t["title"]) for t in result["tasks"]]
        per_agent = [("AGENT", "TASKS FINISHED", "BUSY ON TASKS", "WAITING ON TASKS")]
        per_agent += [(a["id"], str(a["finished"]), span(a["busy"]), span(a["waiting"]))
                      for a in result["task_agents"]]
        lines += ["", *_table(tasks), "", *_table(per_agent)]
    return lines


def _table(rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
            for r in rows]


@click.command()
@click.argument("patterns", nargs=-1)
@click.option("--since", default="1d", show_default=True, metavar="DURATION",
              help="The window: this long back from now (30m, 12h, 7d).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def report(ctx: click.Context, patterns: tuple[str, ...], since: str, as_json: bool) -> None:
    """Uptime, restarts and crashes per process; busy, waiting and idle time per agent."""
    from wezparallel.cli.remote import call, print_json

    window = parse_since(since, time.time())
    if "since_time" not in window:
        raise click.BadParameter("expected a duration like 30m, 12h or 7d",
                                 param_hint="'--since'")
    result = call(ctx, "report", {"patterns": list(patterns), **window})
    if as_json:
        print_json(result)
    else:
        click.echo("\n".join(report_lines(result)))
