"""`wezparctl service install|uninstall|status`: the daemon under systemd or launchd.

The definition itself is rendered by `service_units` (pure); this module decides where it goes
and is the one place that runs `systemctl` and `launchctl`. Writing the file and enabling it are
separate steps so that a machine without a user service manager (a container, an SSH session
without lingering) still gets the file and a clear word about what is left to do.
"""

from __future__ import annotations

import getpass
import os
import shutil
import subprocess
import sys
from pathlib import Path

import click

from wezparallel.cli import service_units as units

EXIT_FAILED = 1


def _manager() -> str:
    if sys.platform == "darwin":
        return "launchd"
    if sys.platform.startswith("linux"):
        return "systemd"
    raise click.ClickException(f"no service support on {sys.platform}: run `wezparallel` "
                               "from your own service manager")


def _daemon_script() -> Path:
    """The `wezparallel` of this install (the venv or pipx env wezparctl runs from)."""
    beside = Path(sys.executable).parent / "wezparallel"
    found = beside if beside.is_file() else shutil.which("wezparallel")
    if found is None:
        raise click.ClickException("cannot find the `wezparallel` command of this install")
    return Path(found).absolute()


def _spec(ctx: click.Context, system: bool) -> units.ServiceSpec:
    paths = ctx.obj.paths
    return units.ServiceSpec(
        daemon=_daemon_script(), conf_dir=Path(paths.conf_dir).absolute(),
        state_dir=Path(paths.state_dir).absolute(), socket=Path(paths.socket).absolute(),
        path_env=os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        user=getpass.getuser() if system else None)


def _target(manager: str, system: bool, unit_dir: Path | None) -> Path:
    if manager == "launchd":
        if system:
            raise click.UsageError("--system is for systemd; launchd agents are per user")
        directory = unit_dir or units.launch_agents_dir(Path.home())
        return directory / f"{units.LAUNCHD_LABEL}.plist"
    if unit_dir is not None:
        directory = unit_dir
    elif system:
        directory = Path("/etc/systemd/system")
    else:
        directory = units.user_unit_dir(Path.home(), os.environ.get("XDG_CONFIG_HOME"))
    name = f"wezparallel-{getpass.getuser()}.service" if system else units.UNIT_NAME
    return directory / name


def _render(manager: str, spec: units.ServiceSpec) -> bytes:
    if manager == "launchd":
        return units.launchd_plist(spec)
    return units.systemd_unit(spec).encode()


def _run(argv: list[str]) -> tuple[bool, str]:
    """Run a service manager command; (ok, what it said). Never raises for its failure."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    return done.returncode == 0, (done.stderr or done.stdout).strip()


def _systemctl(system: bool, *args: str) -> tuple[bool, str]:
    return _run(["systemctl", *([] if system else ["--user"]), *args])


def _activate(manager: str, system: bool, target: Path) -> tuple[bool, str]:
    if manager == "launchd":
        return _run(["launchctl", "bootstrap", f"gui/{os.getuid()}", str(target)])
    ok, said = _systemctl(system, "daemon-reload")
    if not ok:
        return ok, said
    return _systemctl(system, "enable", "--now", target.name)


@click.group()
def service() -> None:
    """Run the daemon as a service (systemd user unit, or a launchd agent on macOS)."""


_system = click.option("--system", is_flag=True,
                       help="A system-wide systemd unit running as you (needs root).")
_unit_dir = click.option("--unit-dir", type=click.Path(path_type=Path, file_okay=False),
                         default=None, help="Write the file here instead of the standard place.")


@service.command()
@click.option("--user", "_user", is_flag=True, help="A per-user service (the default).")
@_system
@_unit_dir
@click.option("--print", "print_only", is_flag=True, help="Print the file; write nothing.")
@click.option("--no-start", is_flag=True, help="Write the file only; do not enable or start it.")
@click.option("--force", is_flag=True, help="Replace a different existing file.")
@click.pass_context
def install(ctx: click.Context, _user: bool, system: bool, unit_dir: Path | None,
            print_only: bool, no_start: bool, force: bool) -> None:
    """Install the service: it starts at login (or boot) and restarts the daemon on failure.

    A restart of the daemon never restarts your agents: the new daemon adopts them."""
    if _user and system:
        raise click.UsageError("--user and --system exclude each other")
    manager = _manager()
    content = _render(manager, _spec(ctx, system))
    if print_only:
        click.echo(content.decode(), nl=False)
        return
    target = _target(manager, system, unit_dir)
    if target.exists() and target.read_bytes() != content and not force:
        raise click.ClickException(f"{target} exists with other content; --force replaces it")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    click.echo(f"wrote {target}")
    if no_start or unit_dir is not None:
        click.echo("not started (--no-start or --unit-dir)")
        return
    ok, said = _activate(manager, system, target)
    if not ok:
        click.echo(f"wezparctl: the file is written, but enabling it failed: {said}", err=True)
        sys.exit(EXIT_FAILED)
    click.echo(f"enabled and started {target.name}")


@service.command()
@_system
@_unit_dir
def uninstall(system: bool, unit_dir: Path | None) -> None:
    """Stop and disable the service and remove its file (your processes stop with it)."""
    manager = _manager()
    target = _target(manager, system, unit_dir)
    if not target.exists():
        raise click.ClickException(f"not installed: {target} does not exist")
    if unit_dir is None:
        if manager == "launchd":
            _run(["launchctl", "bootout", f"gui/{os.getuid()}", str(target)])
        else:
            _systemctl(system, "disable", "--now", target.name)
    target.unlink()
    if unit_dir is None and manager == "systemd":
        _systemctl(system, "daemon-reload")
    click.echo(f"removed {target}")


@service.command()
@_system
@_unit_dir
@click.pass_context
def status(ctx: click.Context, system: bool, unit_dir: Path | None) -> None:
    """Whether the service is installed and active, and whether the daemon answers."""
    from wezparallel.errors import WezparallelError
    from wezparallel.ipc.client import Client

    manager = _manager()
    target = _target(manager, system, unit_dir)
    click.echo(f"file: {target} ({'installed' if target.exists() else 'not installed'})")
    if manager == "systemd":
        _, active = _systemctl(system, "is-active", target.name)
        click.echo(f"systemd: {active or 'unknown'}")
    try:
        with Client(ctx.obj.paths.socket, timeout=5) as client:
            pong = client.call("ping", {})
        click.echo(f"daemon: answering (pid {pong['pid']}) on {ctx.obj.paths.socket}")
    except WezparallelError as exc:
        click.echo(f"daemon: not answering: {exc}")
        sys.exit(EXIT_FAILED)
