"""send, capture, attach, layout: working with the terminal pane a process runs in."""

from __future__ import annotations

import os
import shlex
import sys
import time
from typing import Any

import click

from wezparallel.cli import complete
from wezparallel.cli.remote import EXIT_FAILED, call, print_json
from wezparallel.spec.model import Layout

# What decides how `attach` shows a pane: whether the caller is already inside tmux or WezTerm.
ATTACH_ENVIRON = ("TMUX", "TMUX_PANE", "WEZTERM_PANE", "WEZTERM_UNIX_SOCKET")
SEND_TIMEOUT = 120.0  # seconds: `send` waits for a starting agent and for its confirmation


@click.command()
@click.argument("args", nargs=-1, required=True, metavar="[ID]... TEXT")
@click.option("--workspace", "-w", default=None, help="Send to the agents of this workspace.")
@click.option("--all", "to_all", is_flag=True, help="Send to every agent.")
@click.option("--all-panes", is_flag=True,
              help="With --workspace or --all: every pane, not only the agents'.")
@click.option("--no-enter", is_flag=True, help="Type the text without pressing Enter.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def send(ctx: click.Context, args: tuple[str, ...], workspace: str | None, to_all: bool,
         all_panes: bool, no_enter: bool, as_json: bool) -> None:
    """Type TEXT into processes' panes and press Enter; TEXT `-` reads standard input.

    An agent's prompt is pasted, then Enter pressed on its own, and `send` waits until the
    agent reports the prompt submitted (it exits 1 when that does not happen). Put `--`
    before a TEXT that starts with `-`.

    \b
    wezparctl send web:agent "run the tests"
    wezparctl send --workspace web "commit your work"   (every agent of a workspace)
    wezparctl send -w web --all-panes "q"               (every pane of it, dev servers too)
    wezparctl send --all --no-enter "/clear"
    """
    *ids, text = args
    if text == "-":
        text = sys.stdin.read().removesuffix("\n")  # Enter is the --no-enter flag's to say
    params: dict[str, Any] = {"text": text, "enter": not no_enter}
    if bool(ids) + (workspace is not None) + to_all != 1:
        raise click.UsageError("give process IDs, or --workspace WS, or --all (one of them)")
    if all_panes and ids:
        raise click.UsageError("--all-panes goes with --workspace or --all")
    if ids:
        params["ids"] = ids
    elif workspace is not None:
        params["workspace"] = workspace
    else:
        params["all"] = True
    if all_panes:
        params["all_panes"] = True
    result = call(ctx, "send", params, timeout=SEND_TIMEOUT)
    _report_send(result, as_json)


def _report_send(result: dict[str, Any], as_json: bool) -> None:
    delivery = {r["id"]: r for r in result.get("delivery", [])}
    if as_json:
        print_json(result)
    else:
        names = [pid + (" (submitted)" if delivery.get(pid, {}).get("submitted") else "")
                 for pid in result["sent"]]
        click.echo(f"sent to {', '.join(names)}")
        for skipped in result["skipped"]:
            click.echo(f"skipped {skipped['id']}: {skipped['reason']}", err=True)
        for r in delivery.values():
            if r["note"]:
                click.echo(f"{r['id']}: {r['note']}", err=True)
    if any(r["submitted"] is False for r in delivery.values()):
        sys.exit(EXIT_FAILED)


@click.command()
@click.argument("process_id", shell_complete=complete.process_ids)
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
@click.argument("process_id", shell_complete=complete.process_ids)
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
@click.argument("workspace", shell_complete=complete.workspaces)
@click.argument("name", type=click.Choice([v.value for v in Layout]))
@click.pass_context
def layout(ctx: click.Context, workspace: str, name: str) -> None:
    """Re-arrange the panes of a running workspace (and place its later panes the same way)."""
    result = call(ctx, "layout", {"workspace": workspace, "layout": name})
    click.echo(f"{result['workspace']}: {result['layout']}")
