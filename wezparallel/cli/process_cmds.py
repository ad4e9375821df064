"""status, start, stop, restart, logs, plan, reload, ping, shutdown."""

from __future__ import annotations

import sys
from typing import Any

import click

from wezparallel.cli import complete
from wezparallel.cli import format as fmt
from wezparallel.cli.options import DURATION
from wezparallel.cli.remote import call, print_json

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


@click.command()
@click.argument("patterns", nargs=-1, shell_complete=complete.targets)
@json_option
@click.pass_context
def status(ctx: click.Context, patterns: tuple[str, ...], as_json: bool) -> None:
    """Show processes. Exit 1 when any is FATAL or the config has errors."""
    result = call(ctx, "status", {"patterns": list(patterns)})
    if as_json:
        print_json(result)
    else:
        click.echo("\n".join(fmt.status_table(result)))
    bad = any(p["state"] == "FATAL" for p in result["processes"]) or result["config"]["errors"]
    sys.exit(1 if bad else 0)


def _change_command(verb: str) -> click.Command:
    @click.command(name=verb, help=f"{verb.capitalize()} processes (ws:name, ws:*, ws or all) "
                   "and wait for the outcome.")
    @click.argument("ids", nargs=-1, required=True, shell_complete=complete.targets)
    @click.option("--timeout", type=DURATION, default="30s", show_default=True,
                  help="How long to wait for the outcome (10s, 2m, or seconds).")
    @click.option("--no-wait", is_flag=True, help="Return at once.")
    @json_option
    @click.pass_context
    def command(ctx: click.Context, ids: tuple[str, ...], timeout: float, no_wait: bool,
                as_json: bool) -> None:
        result = call(ctx, verb, {"ids": list(ids), "timeout": timeout, "wait": not no_wait},
                      timeout=timeout + 10)
        if as_json:
            print_json(result)
        else:
            click.echo("\n".join(fmt.change_lines(result, verb)))
        sys.exit(0 if result["ok"] or no_wait else 1)

    return command


start = _change_command("start")
stop = _change_command("stop")
restart = _change_command("restart")


def _plan_lines(result: dict[str, Any]) -> list[str]:
    lines = [a["text"] for a in result["actions"]] or ["no changes"]
    lines += [f"{e['file']}:{e['line']}:{e['column']}: {e['message']}" for e in result["errors"]]
    return lines


def _show_plan(ctx: click.Context, method: str, as_json: bool) -> dict[str, Any]:
    result: dict[str, Any] = call(ctx, method)
    if as_json:
        print_json(result)
    else:
        click.echo("\n".join(_plan_lines(result)))
    return result


@click.command()
@click.option("--exit-code", is_flag=True,
              help="Exit 1 when a reload would change something, 0 when not (like `git diff "
                   "--exit-code`).")
@json_option
@click.pass_context
def plan(ctx: click.Context, exit_code: bool, as_json: bool) -> None:
    """Show what `reload` would change, per process. Exit 1 when the config has errors."""
    result = _show_plan(ctx, "plan", as_json)
    sys.exit(1 if result["errors"] or (exit_code and result["actions"]) else 0)


@click.command()
@json_option
@click.pass_context
def reload(ctx: click.Context, as_json: bool) -> None:
    """Re-read the conf dir and apply what changed."""
    result = _show_plan(ctx, "reload", as_json)
    sys.exit(1 if result["errors"] else 0)


@click.command()
@click.pass_context
def ping(ctx: click.Context) -> None:
    """Check that the daemon answers."""
    result = call(ctx, "ping", timeout=5)
    click.echo(f"pong from wezparallel {result['version']} (pid {result['pid']})")


@click.command()
@click.option("--leave-running", is_flag=True,
              help="Leave the processes running, for an upgrade; the next daemon adopts them.")
@click.pass_context
def shutdown(ctx: click.Context, leave_running: bool) -> None:
    """Stop the daemon (and, unless --leave-running, every process it started)."""
    call(ctx, "shutdown", {"leave_running": leave_running})
    click.echo("daemon stopping" + (" (processes left running)" if leave_running else ""))
