"""`wezparallel`: the daemon, in the foreground (systemd, launchd or a terminal keeps it).

Wires the pieces together: the socket server first (so a second daemon is refused before it
touches anything), then the config, then adoption of what an earlier daemon left running, then
the reconcile loop, until SIGTERM, SIGINT or `wezparctl shutdown`.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import resource
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from wezparallel import __version__
from wezparallel.cli.lograte import RepeatLimiter
from wezparallel.errors import WezparallelError
from wezparallel.paths import Paths, ensure_private_dir
from wezparallel.web import settings as dashboard_settings
from wezparallel.web.calls import dashboard_method
from wezparallel.web.settings import DashboardAddress

if TYPE_CHECKING:
    from wezparallel.runtime.watcher import ConfWatcher
    from wezparallel.web.launch import Dashboard

log = logging.getLogger("wezparallel")

WATCH_RETRY = 1.0  # seconds before the conf-dir watcher is tried again after a failed start


async def serve(paths: Paths, backend: str | None, watch: bool = True,
                metrics_interval: float = 5.0, metrics_idle_interval: float = 60.0,
                event_retention_days: float = 7.0,
                dashboard: DashboardAddress | None = None) -> int:
    """Run the daemon; the exit status: 0, or 1 when one of its tasks died of a bug."""
    from wezparallel.backends.escapees import become_subreaper
    from wezparallel.events.settings import DAY, EventSettings
    from wezparallel.ipc.handlers import handlers_for
    from wezparallel.ipc.server import IpcServer
    from wezparallel.metrics.settings import MetricsSettings
    from wezparallel.runtime.daemon import Daemon, DaemonSettings

    become_subreaper()  # orphans of our processes come to us, not init: see `escapees`
    metrics = MetricsSettings(interval=metrics_interval,
                              idle_interval=max(metrics_interval, metrics_idle_interval)) \
        if metrics_interval > 0 else None
    daemon = Daemon(DaemonSettings(paths, backend=backend, metrics=metrics,
                                   events=EventSettings(retention=event_retention_days * DAY)))
    handlers = handlers_for(daemon)
    web: Dashboard | None = None
    handlers.add("dashboard", dashboard_method(lambda: web.url_with_token() if web else None))
    server = IpcServer(paths.socket, handlers)
    await server.start()
    try:
        ensure_private_dir(paths.state_dir)
        if dashboard is not None:  # bound now; aiohttp loads once supervision runs
            from wezparallel.web.launch import Dashboard

            web = Dashboard(dashboard, paths.state_dir)
            log.info("dashboard: %s", web.url_with_token())
        daemon.apply_config(daemon.read_config())
        daemon.bus.publish("daemon", None, {"what": "started", "version": __version__,
                                            "pid": os.getpid(),
                                            "previous_seen": daemon.previous_seen})
        daemon.restore()
        daemon.replay_spool()  # no await in between: live hook events wait for the loop
        watcher: ConfWatcher | None = None

        def watch_conf_dir() -> None:
            """Watch the conf dir, catching up a save made before. Importing and starting the
            watcher takes file descriptors: should a flood of clients hold them all at that
            moment (EMFILE), it is tried again a second later, not the end of the daemon."""
            nonlocal watcher
            if daemon.stopped.is_set():
                return
            try:
                from wezparallel.runtime.watcher import ConfWatcher

                started = ConfWatcher(paths.conf_dir, daemon.reload_quietly,
                                      env_files=lambda: daemon.config.env_files)
                started.start()
            except OSError as exc:
                log.warning("cannot watch %s yet (%s): trying again in 1 s", paths.conf_dir,
                            exc)
                asyncio.get_running_loop().call_later(WATCH_RETRY, watch_conf_dir)
                return
            watcher = started
            daemon.reload_if_changed()

        def housekeeping() -> None:
            """Once the first starts settled: collect again, and watch the conf dir if asked
            to (watchdog and its observer thread cost memory)."""
            resume_collecting()
            if watch:
                watch_conf_dir()

        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, daemon.request_shutdown)
        log.info("wezparallel %s: %d processes from %s, socket %s", __version__,
                 len(daemon.config.processes()), paths.conf_dir, paths.socket)
        if web is not None:
            web.start(handlers)
        try:
            await daemon.run(on_supervising=housekeeping)
        finally:
            if watcher is not None:
                watcher.stop()
    finally:
        if web is not None:
            await web.close()
        await server.close()
    log.info("wezparallel stopped%s", " after an internal error" if daemon.failed else "")
    return 1 if daemon.failed else 0


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--conf-dir", type=click.Path(path_type=Path), default=None,
              help="Workspace files [env WEZPARALLEL_CONF_DIR; default ./conf.d if present].")
@click.option("--state-dir", type=click.Path(path_type=Path), default=None,
              help="Logs and runtime state [env WEZPARALLEL_STATE_DIR].")
@click.option("--socket", "socket_path", type=click.Path(path_type=Path), default=None,
              help="Control socket [env WEZPARALLEL_SOCKET].")
@click.option("--backend", type=click.Choice(["wezterm", "tmux", "subprocess"]), default=None,
              help="What `backend: auto` means (default: detect).")
@click.option("--watch/--no-watch", default=True, show_default=True,
              help="Reload on every save; without it, changes wait for `wezparctl reload`.")
@click.option("--metrics-interval", type=click.FloatRange(min=0), default=5.0,
              show_default=True,
              help="Seconds between metrics passes while someone looks; 0 turns metrics off.")
@click.option("--metrics-idle-interval", type=click.FloatRange(min=1), default=60.0,
              show_default=True, help="Seconds between metrics passes while nobody looks.")
@click.option("--event-retention", type=click.FloatRange(min=0), default=7.0,
              show_default=True, metavar="DAYS",
              help="Days events stay in the journal (STATE_DIR/events.sqlite); 0 keeps all.")
@click.option("--dashboard", "dashboard", metavar="HOST:PORT", default=None,
              help="Serve the web dashboard there (loopback only; port 0: a free one) "
              f"[env {dashboard_settings.ENV}; default on, 127.0.0.1:"
              f"{dashboard_settings.DEFAULT_PORT}, or a free port when that one is taken].")
@click.option("--no-dashboard", is_flag=True, help="No web dashboard (aiohttp is not loaded).")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]),
              default="info", show_default=True)
@click.version_option(__version__, prog_name="wezparallel")
def cli(conf_dir: Path | None, state_dir: Path | None, socket_path: Path | None,
        backend: str | None, watch: bool, metrics_interval: float,
        metrics_idle_interval: float, event_retention: float, dashboard: str | None,
        no_dashboard: bool, log_level: str) -> None:
    """Run the wezparallel daemon: supervise the processes the workspace files describe."""
    try:
        address = dashboard_settings.resolve(dashboard, no_dashboard, os.environ)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    logging.basicConfig(stream=sys.stderr, level=log_level.upper(),
                        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(RepeatLimiter())
    raise_open_files_limit()
    paths = Paths.resolve(conf_dir, state_dir, socket_path)
    try:
        status = asyncio.run(serve(paths, backend, watch, metrics_interval,
                                   metrics_idle_interval, event_retention, address))
    except WezparallelError as exc:
        click.echo(f"wezparallel: {exc}", err=True)
        sys.exit(1)
    sys.exit(status)


def resume_collecting() -> None:
    """What a daemon allocates on its way to its first processes (modules, classes, the
    config, the records of what it started) lives as long as the daemon. The cyclic garbage
    collector would walk those objects over and over while they are made (about 80
    collections, 13 ms of a cold start of 100 processes), so `cli.entry` turns it off before
    the first import, until the first starts settled; then they are frozen (`gc.freeze`:
    left out of every later collection, which also keeps the daemon's full collections
    short) and collection resumes. A garbage cycle made during the start is kept, not
    collected: a bounded, one-time cost."""
    gc.freeze()
    gc.enable()


def raise_open_files_limit() -> None:
    """Soft RLIMIT_NOFILE up to the hard limit: each supervised process holds a pidfd and
    each client a socket. Children inherit the raised limit, as under supervisord's `minfds`."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError) as exc:
            log.warning("cannot raise the open files limit from %d to %d: %s", soft, hard, exc)


def main() -> None:
    cli(prog_name="wezparallel")
