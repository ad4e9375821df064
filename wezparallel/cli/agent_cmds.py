"""wait, worktree list, worktree remove: commands for Claude Code agents."""

from __future__ import annotations

from typing import Any

import click

from wezparallel.cli import complete
from wezparallel.cli.options import DURATION
from wezparallel.cli.remote import call, print_json

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


@click.command()
@click.argument("process_id", metavar="ID", shell_complete=complete.targets)
@click.option("--until", "until", type=click.Choice(["idle", "waiting", "busy"]),
              required=True, help="The activity to wait for.")
@click.option("--any", "any_", is_flag=True,
              help="With a pattern: return when the first matching agent gets there.")
@click.option("--timeout", type=DURATION, default="5m", show_default=True,
              help="How long to wait (2s, 5m, or seconds); exit 1 when it passes.")
@click.pass_context
def wait(ctx: click.Context, process_id: str, until: str, any_: bool, timeout: float) -> None:
    """Block until an agent is idle (its turn ended) or waiting (it needs you). A pattern
    (`ws:*`, `ws`, `all`) waits until every agent it matches is there at once."""
    result = call(ctx, "wait", {"id": process_id, "until": until, "timeout": timeout,
                                "any": any_}, timeout=timeout + 10)
    for agent in result.get("agents") or [result]:
        click.echo(f"{agent['id']}: {agent['activity']}")


@click.group()
def worktree() -> None:
    """Agents' git worktrees (`worktree:` in a process)."""


@worktree.command(name="list")
@json_option
@click.pass_context
def list_(ctx: click.Context, as_json: bool) -> None:
    """Each agent's worktree: path, branch, dirty, commits ahead."""
    result = call(ctx, "worktree_list")
    if as_json:
        print_json(result)
    else:
        click.echo("\n".join(worktree_table(result["worktrees"])))


@worktree.command()
@click.argument("process_id", shell_complete=complete.process_ids)
@click.option("--force", is_flag=True, help="Also when it has uncommitted changes (lost).")
@click.pass_context
def remove(ctx: click.Context, process_id: str, force: bool) -> None:
    """Remove an agent's worktree (its branch stays); refuses a dirty one without --force."""
    result = call(ctx, "worktree_remove", {"id": process_id, "force": force})
    lost = result["discarded_changes"]
    click.echo(f"{result['id']}: removed {result['path']} (branch {result['branch']} kept"
               + (f"; {lost} changed files discarded" if lost else "") + ")")


@worktree.command()
@click.option("--repo", "repos", multiple=True, type=click.Path(file_okay=False),
              help="Also this repository (for agents no workspace file names any more).")
@click.option("--dry-run", is_flag=True, help="Only say what would be removed.")
@json_option
@click.pass_context
def prune(ctx: click.Context, repos: tuple[str, ...], dry_run: bool, as_json: bool) -> None:
    """Remove the worktrees of agents no longer configured (clean ones; branches stay)."""
    import os

    result = call(ctx, "worktree_prune", {"repos": [os.path.abspath(r) for r in repos],
                                          "dry_run": dry_run})
    if as_json:
        print_json(result)
        return
    verb = "would remove" if dry_run else "removed"
    for row in result["removed"]:
        click.echo(f"{verb} {row['path']} (branch {row['branch'] or '-'} kept)")
    for row in result["kept"]:
        click.echo(f"kept {row['path']}: {row['reason']} ({row['changes']} files)")
    if not result["removed"] and not result["kept"]:
        click.echo("no worktrees of removed agents")


def worktree_table(rows: list[dict[str, Any]]) -> list[str]:
    table: list[tuple[str, ...]] = [("ID", "BRANCH", "STATE", "AHEAD", "PATH")]
    for r in rows:
        if r.get("error"):
            table.append((r["id"], "-", "error", "-", r["error"]))
            continue
        state = ("missing" if not r["exists"]
                 else f"dirty ({r['changes']})" if r["dirty"] else "clean")
        table.append((r["id"], r["branch"] or "-", state,
                      str(r["ahead"]) if r["exists"] else "-", r["path"] or "-"))
    return _columns(table)


def _columns(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return [("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False))
             + "  " + r[-1]).rstrip() for r in rows]
