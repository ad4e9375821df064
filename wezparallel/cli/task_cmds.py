"""task add|list|show|move|assign|cancel|edit|diff|merge: the board from the command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from wezparallel.cli import complete
from wezparallel.cli.remote import call, print_json

STATUSES = ("todo", "doing", "review", "done", "cancelled")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


@click.group()
def task() -> None:
    """Tasks for agents: write work down once; idle agents take it (`dispatch: auto`)."""


def _show(result: dict[str, Any], as_json: bool, line: str | None = None) -> None:
    if as_json:
        print_json(result)
    else:
        click.echo(line if line is not None else task_line(result))


@task.command()
@click.argument("title")
@click.option("--body", default=None, help="The prompt [default: the title].")
@click.option("--body-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Read the prompt from a file ('-' for stdin).")
@click.option("--workspace", "-w", default=None, help="Its workspace [default: the only one].",
              shell_complete=complete.workspaces)
@click.option("--to", default=None, metavar="AGENT", help="Only this agent may take it.",
              shell_complete=complete.process_ids)
@click.option("--after", multiple=True, metavar="ID", help="A task to be done first "
              "(repeatable).")
@click.option("--priority", "-p", type=int, default=0, show_default=True,
              help="Higher goes first.")
@json_option
@click.pass_context
def add(ctx: click.Context, title: str, body: str | None, body_file: Path | None,
        workspace: str | None, to: str | None, after: tuple[str, ...], priority: int,
        as_json: bool) -> None:
    """Add a todo task; prints its id."""
    if body is not None and body_file is not None:
        raise click.UsageError("give --body or --body-file, not both")
    if body_file is not None:
        try:
            body = sys.stdin.read() if str(body_file) == "-" else body_file.read_text()
        except OSError as exc:
            raise click.BadParameter(f"cannot read {body_file}: {exc.strerror}",
                                     param_hint="'--body-file'") from None
    result = call(ctx, "task_add", {"title": title, "body": body or "", "workspace": workspace,
                                    "to": to, "after": list(after), "priority": priority})
    _show(result, as_json, result["id"])


@task.command(name="list")
@click.option("--status", type=click.Choice(STATUSES), default=None)
@click.option("--workspace", "-w", default=None, shell_complete=complete.workspaces)
@json_option
@click.pass_context
def list_(ctx: click.Context, status: str | None, workspace: str | None,
          as_json: bool) -> None:
    """The tasks, one line each: id, status, priority, agent, time, title."""
    result = call(ctx, "task_list", {"status": status, "workspace": workspace})
    if as_json:
        print_json(result["tasks"])
        return
    for t in result["tasks"]:
        click.echo(task_line(t))
    if not result["tasks"]:
        click.echo("no tasks" + (f" in {status}" if status else ""))


@task.command()
@click.argument("task_id", metavar="ID")
@json_option
@click.pass_context
def show(ctx: click.Context, task_id: str, as_json: bool) -> None:
    """Everything about one task."""
    result = call(ctx, "task_show", {"id": task_id})
    _show(result, as_json, "\n".join(task_details(result)))


@task.command()
@click.argument("task_id", metavar="ID")
@click.argument("status", type=click.Choice([s for s in STATUSES if s != "doing"]))
@click.option("--note", default=None, help="Back to todo: sent before the task's prompt.")
@json_option
@click.pass_context
def move(ctx: click.Context, task_id: str, status: str, note: str | None,
         as_json: bool) -> None:
    """Move a task (review -> done, or back to todo with a --note)."""
    _show(call(ctx, "task_move", {"id": task_id, "status": status, "note": note}), as_json)


@task.command()
@click.argument("task_id", metavar="ID")
@click.argument("agent", shell_complete=complete.process_ids)
@json_option
@click.pass_context
def assign(ctx: click.Context, task_id: str, agent: str, as_json: bool) -> None:
    """Give a todo task to AGENT: sent when it is idle and has no other task."""
    _show(call(ctx, "task_assign", {"id": task_id, "agent": agent}), as_json)


@task.command()
@click.argument("task_id", metavar="ID")
@json_option
@click.pass_context
def cancel(ctx: click.Context, task_id: str, as_json: bool) -> None:
    """Cancel a task (an agent at work on it is not interrupted)."""
    _show(call(ctx, "task_cancel", {"id": task_id}), as_json)


@task.command()
@click.argument("task_id", metavar="ID")
@click.option("--title", default=None)
@click.option("--body", default=None)
@click.option("--priority", "-p", type=int, default=None)
@click.option("--after", multiple=True, metavar="ID", help="Replaces the list (repeatable).")
@click.option("--no-after", is_flag=True, help="Clear the list of tasks to wait for.")
@click.option("--to", default=None, metavar="AGENT", shell_complete=complete.process_ids)
@click.option("--anyone", is_flag=True, help="Clear --to: any agent of the workspace.")
@json_option
@click.pass_context
def edit(ctx: click.Context, task_id: str, title: str | None, body: str | None,
         priority: int | None, after: tuple[str, ...], no_after: bool, to: str | None,
         anyone: bool, as_json: bool) -> None:
    """Change a task's title, prompt, priority, order or agent."""
    params: dict[str, Any] = {"id": task_id}
    for key, value in (("title", title), ("body", body), ("priority", priority), ("to", to)):
        if value is not None:
            params[key] = value
    if after or no_after:
        params["after"] = list(after)
    if anyone:
        params["to"] = None
    _show(call(ctx, "task_edit", params), as_json)


@task.command()
@click.argument("task_id", metavar="ID")
@click.pass_context
def diff(ctx: click.Context, task_id: str) -> None:
    """The task's commits and uncommitted changes against the commit it started from."""
    result = call(ctx, "task_diff", {"id": task_id})
    click.echo(result["diff"], nl=False)


@task.command()
@click.argument("task_id", metavar="ID")
@click.option("--squash", is_flag=True, help="One commit instead of a merge commit.")
@json_option
@click.pass_context
def merge(ctx: click.Context, task_id: str, squash: bool, as_json: bool) -> None:
    """Merge the agent's branch into the repository's checked-out branch; the task is done.
    Refuses a dirty checkout or a conflicting merge, changing nothing."""
    result = call(ctx, "task_merge", {"id": task_id, "squash": squash}, timeout=300)
    _show(result, as_json, f"{result['id']}: merged {result['branch']} "
                           f"({'squashed, ' if squash else ''}now {result['merged'][:12]})")


def task_line(t: dict[str, Any]) -> str:
    from wezparallel.cli.format import duration

    agent = t.get("agent") or (f"->{t['to']}" if t.get("to") else "-")
    spent = duration(t["busy_seconds"]) if t.get("started") else "-"
    return f"{t['id']:<5} {t['status']:<9} {t['priority']:>3}  {agent:<20} {spent:>7}  " \
           f"{t['title']}"


def task_details(t: dict[str, Any]) -> list[str]:
    import time

    from wezparallel.cli.format import duration

    def when(value: float | None) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(value)) if value else "-"

    commits = f"{(t.get('base_commit') or '-')[:12]}..{(t.get('head_commit') or '-')[:12]}"
    rows = [("id", t["id"]), ("title", t["title"]), ("status", t["status"]),
            ("workspace", t.get("workspace") or "-"), ("agent", t.get("agent") or "-"),
            ("to", t.get("to") or "-"), ("priority", str(t["priority"])),
            ("after", ", ".join(t["after"]) or "-"), ("created", when(t["created"])),
            ("started", when(t.get("started"))), ("finished", when(t.get("finished"))),
            ("busy", duration(t["busy_seconds"])), ("waiting", duration(t["waiting_seconds"])),
            ("branch", t.get("branch") or "-"),
            ("commits", commits),
            ("reason", t.get("reason") or "-"), ("note", t.get("note") or "-")]
    lines = [f"{k + ':':<10} {v}" for k, v in rows]
    return [*lines, "", t.get("body") or t["title"]]
