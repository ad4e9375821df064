"""send, capture, attach, layout: working with the terminal pane a process runs in."""

from __future__ import annotations

import os
import shlex
import sys
import time
from typing import Any

import click

from wezparallel.cli.remote import EXIT_FAILED, call, print_json
from wezparallel.spec.model import Layout

# What decides how `attach` shows a pane: whether the caller is already inside tmux or WezTerm.
ATTACH_ENVIRON = ("TMUX", "TMUX_PANE", "WEZTERM_PANE", "WEZTERM_UNIX_SOCKET")


@click.command()
@click.argument("args", nargs=-1, required=True, metavar="[ID]... TEXT")
@click.option("--workspace", "-w", default=None, help="Send to every pane of this workspace.")
@click.option("--all", "to_all", is_flag=True, help="Send to every pane.")
@click.option("--no-enter", is_flag=True, help="Type the text without pressing Enter.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def send(ctx: click.Context, args: tuple[str, ...], workspace: str | None, to_all: bool,
         no_enter: bool, as_json: bool) -> None:
    """Type TEXT (and Enter) into processes' panes; TEXT `-` reads standard input.

    \b
    wezparctl send web:agent "run the tests"
    wezparctl send --workspace web "git pull"     (every pane of a workspace)
    wezparctl send --all --no-enter "/clear"
    """
    *ids, text = args
    if text == "-":
        text = sys.stdin.read().removesuffix("\n")  # Enter is the --no-enter flag's to say
    params: dict[str, Any] = {"text": text, "enter": not no_enter}
    if bool(ids) + (workspace is not None) + to_all != 1:
        raise click.UsageError("give process IDs, or --workspace WS, or --all (one of them)")
    if ids:
        params["ids"] = ids
    elif workspace is not None:
        params["workspace"] = workspace
    else:
        params["all"] = True
    result = call(ctx, "send", params)
    if as_json:
        print_json(result)
        return
    click.echo(f"sent to {', '.join(result['sent'])}")
    for skipped in result["skipped"]:
        click.echo(f"skipped {skipped['id']}: {skipped['reason']}", err=True)


@click.command()
@click.argument("process_id")
@click.option("-n", "--lines", type=click.IntRange(min=0), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def capture(ctx: click.Context, process_id: str, lines: int, as_json: bool) -> None:
    """Print the text on a process's pane (its log tail when it runs headless)."""
    result = call(ctx, "capture", {"id": process_id, "lines": lines})
    if as_json:
        print_json(result)
    elif result["text"]:
        click.echo(result["text"])


@click.command()
@click.argument("process_id")
@click.option("--print", "print_only", is_flag=True,
              help="Print the command that would show the pane instead of running it.")
@click.pass_context
def attach(ctx: click.Context, process_id: str, print_only: bool) -> None:
    """Show a process's pane: tmux attaches (or switches) this terminal to it, WezTerm
    activates it (and, through the wezparallel Lua module, switches to its workspace)."""
    environ = {k: os.environ[k] for k in ATTACH_ENVIRON if k in os.environ}
    result = call(ctx, "attach", {"id": process_id, "environ": environ})
    argv: list[str] | None = result["argv"]
    if argv is None:
        if result.get("shown") is False:
            _switch_workspace(ctx, result, environ)
        click.echo(f"activated the pane of {result['id']}")
        return
    if print_only:
        click.echo(shlex.join(argv))
        return
    sys.stdout.flush()
    try:
        os.execvp(argv[0], argv)  # this terminal becomes the tmux client
    except OSError as exc:
        click.echo(f"wezparctl: cannot run {argv[0]}: {exc.strerror}", err=True)
        sys.exit(EXIT_FAILED)


def _switch_workspace(ctx: click.Context, result: dict[str, Any],
                      environ: dict[str, str]) -> None:
    """The pane lives in a WezTerm workspace the GUI does not show: ask the Lua module to
    switch (see workspace_switch), wait until the daemon sees it shown, else fail clearly."""
    from wezparallel.cli import workspace_switch as ws

    asked = ws.request(str(result["pane"]), str(result["workspace"]), environ)
    deadline = time.monotonic() + (ws.WAIT if asked else 0)
    while time.monotonic() < deadline:
        time.sleep(0.1)
        if call(ctx, "attach", {"id": result["id"], "environ": environ}).get("shown"):
            return
    click.echo(f"wezparctl: {ws.not_shown(result['id'], result['workspace'], asked)}",
               err=True)
    sys.exit(EXIT_FAILED)


@click.command()
@click.argument("workspace")
@click.argument("name", type=click.Choice([v.value for v in Layout]))
@click.pass_context
def layout(ctx: click.Context, workspace: str, name: str) -> None:
    """Re-arrange the panes of a running workspace (and place its later panes the same way)."""
    result = call(ctx, "layout", {"workspace": workspace, "layout": name})
    click.echo(f"{result['workspace']}: {result['layout']}")
