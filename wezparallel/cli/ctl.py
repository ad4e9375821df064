"""`wezparctl`: the control CLI.

Commands live in one module per family and are imported only when invoked, so that
`wezparctl status` pays for click and the socket client, not for jsonschema, watchdog or psutil.

Exit codes: 0 ok, 1 the operation failed, 2 usage error, 3 the daemon is not reachable.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

import click

from wezparallel import __version__
from wezparallel.paths import Paths

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3

# name -> "module:function"; add a family by adding its verbs here.
COMMANDS: dict[str, str] = {
    "validate": "wezparallel.cli.config_cmds:validate",
    "schema": "wezparallel.cli.config_cmds:schema",
    "templates": "wezparallel.cli.config_cmds:templates",
    "init": "wezparallel.cli.config_cmds:init",
    "status": "wezparallel.cli.process_cmds:status",
    "start": "wezparallel.cli.process_cmds:start",
    "stop": "wezparallel.cli.process_cmds:stop",
    "restart": "wezparallel.cli.process_cmds:restart",
    "logs": "wezparallel.cli.log_cmds:logs",
    "plan": "wezparallel.cli.process_cmds:plan",
    "reload": "wezparallel.cli.process_cmds:reload",
    "ping": "wezparallel.cli.process_cmds:ping",
    "shutdown": "wezparallel.cli.process_cmds:shutdown",
    "send": "wezparallel.cli.pane_cmds:send",
    "capture": "wezparallel.cli.pane_cmds:capture",
    "attach": "wezparallel.cli.pane_cmds:attach",
    "layout": "wezparallel.cli.pane_cmds:layout",
    "top": "wezparallel.cli.metrics_cmds:top",
    "metrics": "wezparallel.cli.metrics_cmds:metrics",
    "lua-path": "wezparallel.cli.lua_cmds:lua_path",
    "wait": "wezparallel.cli.agent_cmds:wait",
    "events": "wezparallel.cli.event_cmds:events",
    "plugins": "wezparallel.cli.event_cmds:plugins",
    "report": "wezparallel.cli.event_cmds:report",
    "worktree": "wezparallel.cli.agent_cmds:worktree",
    "task": "wezparallel.cli.task_cmds:task",
    "service": "wezparallel.cli.service_cmds:service",
}


@dataclass(frozen=True)
class Context:
    """What every command gets: the agreed paths."""

    paths: Paths
    socket_given: bool


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS.keys() | _plugin_commands().keys())

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            found = _plugin_commands().get(cmd_name)
            return found if isinstance(found, click.Command) else None
        module, _, attr = target.partition(":")
        command = getattr(importlib.import_module(module), attr)
        assert isinstance(command, click.Command)
        return command


def _plugin_commands() -> dict[str, object]:
    """Subcommands that plugins add; their entry points are read only for a name that is
    not ours (or for --help), so built-in commands start as fast as before."""
    from wezparallel.events.plugins import commands

    return commands()


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--socket", "socket_path", type=click.Path(path_type=Path), default=None,
              help="Daemon socket [env WEZPARALLEL_SOCKET].")
@click.option("--conf-dir", type=click.Path(path_type=Path), default=None,
              help="Workspace files [env WEZPARALLEL_CONF_DIR; default ./conf.d if present].")
@click.option("--state-dir", type=click.Path(path_type=Path), default=None,
              help="Logs and runtime state [env WEZPARALLEL_STATE_DIR].")
@click.version_option(__version__, prog_name="wezparctl")
@click.pass_context
def cli(ctx: click.Context, socket_path: Path | None, conf_dir: Path | None,
        state_dir: Path | None) -> None:
    """Control the wezparallel daemon and check workspace files."""
    ctx.obj = Context(Paths.resolve(conf_dir, state_dir, socket_path),
                      socket_given=socket_path is not None)


def main() -> None:
    cli(prog_name="wezparctl")
