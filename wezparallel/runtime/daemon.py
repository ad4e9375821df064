"""The daemon's state and its reactions, independent of how commands reach it.

Owns the config in force, the supervisor and the backends; the socket handlers and the file
watcher call into it. Loading a config and previewing its plan are separate from applying it,
which is what makes `wezparctl plan` show exactly what `reload` will do.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from wezparallel.backends.base import Handle
from wezparallel.backends.select import resolve_auto
from wezparallel.clock import Clock, SystemClock
from wezparallel.events.bus import EventBus
from wezparallel.events.hooks import HookRunner
from wezparallel.events.journal import FILE_NAME as JOURNAL_FILE
from wezparallel.events.journal import Journal
from wezparallel.events.plugin_host import PluginHost
from wezparallel.events.settings import EventSettings
from wezparallel.metrics.settings import MetricsSettings
from wezparallel.paths import Paths
from wezparallel.plan.actions import describe
from wezparallel.plan.lifecycle import ExitInfo
from wezparallel.plan.planner import Plan, plan
from wezparallel.runtime import adoption
from wezparallel.runtime import config as config_mod
from wezparallel.runtime.agent_exits import AgentExits
from wezparallel.runtime.agents import AgentTracker
from wezparallel.runtime.config import ConfigSnapshot
from wezparallel.runtime.event_feed import connect as connect_events
from wezparallel.runtime.health import HealthRunner
from wezparallel.runtime.lastgood import LastGood
from wezparallel.runtime.launch import Launcher
from wezparallel.runtime.logrotation import LogRotator, RotationSettings
from wezparallel.runtime.notices import Notices
from wezparallel.runtime.persist import Persistence
from wezparallel.runtime.registry import BackendFactory, BackendRegistry, default_factories
from wezparallel.runtime.screen import ScreenPoller
from wezparallel.runtime.status import status_object
from wezparallel.runtime.statusfile import StatusFile, last_written
from wezparallel.runtime.stopped_panes import StoppedPanes
from wezparallel.runtime.supervisor import Supervisor
from wezparallel.spec.model import HealthProbe, ProcessSpec, WorkspaceSpec
from wezparallel.tasks import STORE_FILE as TASKS_FILE

if TYPE_CHECKING:
    from wezparallel.events.probes import Check
    from wezparallel.health.probes import ProbeInputs, ProbeResult
    from wezparallel.runtime.board import Board
    from wezparallel.runtime.logstream import LogWatch
    from wezparallel.runtime.metrics import MetricsRunner
    from wezparallel.runtime.prompts import PromptSender
    from wezparallel.tasks.model import Task

log = logging.getLogger(__name__)

# Housekeeping begins this long after the first starts settled (or SETTLE_WAIT after the
# daemon began supervising, should a start hang): the first requests of a new daemon, a
# script's `wezparctl status` or `wait`, are answered first.
HOUSEKEEPING_GRACE = 0.1
SETTLE_WAIT = 2.0


@dataclass(frozen=True)
class DaemonSettings:
    paths: Paths
    backend: str | None = None  # what `backend: auto` means; None: detect
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    log_rotation: RotationSettings = field(default_factory=RotationSettings)
    metrics: MetricsSettings | None = field(default_factory=MetricsSettings)  # None: off
    events: EventSettings = field(default_factory=EventSettings)


class Daemon:
    def __init__(self, settings: DaemonSettings, clock: Clock | None = None,
                 factories: Mapping[str, BackendFactory] | None = None) -> None:
        self.settings = settings
        self.paths = settings.paths
        self.clock = clock or SystemClock()
        self.config = ConfigSnapshot()
        self.last_good = LastGood(self.paths.state_dir / "lastgood")
        auto = settings.backend or resolve_auto(settings.environ)
        self.registry = BackendRegistry(
            factories or default_factories(self.paths.state_dir), self._on_exit, lambda: auto)
        self.persistence = Persistence(self.paths.state_dir / "state.json", self.clock)
        self.launcher = Launcher(self.paths.state_dir, self.paths.socket, settings.environ)
        self.supervisor = Supervisor(self.registry.for_spec, self.clock, self.paths.state_dir,
                                     self.persistence, self.launcher)
        self.agents = AgentTracker(self.clock, self.launcher.remember_conversation,
                                   self.supervisor.save_soon)
        self.notices = Notices(self.clock)
        self.plugin_host = PluginHost(settings.events)  # discovers on first need
        self._checks: Check | None = None
        self.health = HealthRunner(self.supervisor, self.clock, activity=self.agents.get,
                                   notify=self.notices.add, check=self._health_check)
        self.screen = ScreenPoller(self.supervisor, self.agents, self.clock)
        self.exits = AgentExits(self.supervisor, self.launcher, self.agents, self.notices.add)
        # after the tracker: it forgets a hook-less agent that the poller then takes on, and
        # marks an agent exited before its exit is judged
        self.supervisor.observers += [self.launcher, self.agents, self.health, self.screen,
                                      self.exits]
        self.persistence.extras = self._saved_extras
        self.supervisor.update_listeners.append(self.health.process_updated)
        journal = Journal(self.paths.state_dir / JOURNAL_FILE, settings.events.retention)
        self.bus = EventBus(self.clock, journal)
        # the last sign of the daemon before us, for the `started` event: a report counts the
        # time since as "daemon down" (see events.report)
        self.previous_seen = max((t for t in (journal.last_time(),
                                              last_written(self.paths.status_file))
                                  if t is not None), default=None)
        self.differ = connect_events(self.bus, self.supervisor, self.agents, self.notices,
                                     self.health.reason)
        self.hooks = HookRunner(self._spec_of, self.notices.add, settings.events,
                                settings.environ)
        self.bus.listeners.append(self.hooks.on_event)
        self.bus.listeners.append(self.plugin_host.on_event)  # keeps events until discovery
        self._prompts: PromptSender | None = None
        self._board: Board | None = None
        if (self.paths.state_dir / TASKS_FILE).exists():  # a saved board goes on at once
            self._board = self._open_board()
        self.stopped = asyncio.Event()
        self.stopped_panes = StoppedPanes(self.supervisor, self.stopped)
        self.supervisor.observers.append(self.stopped_panes)
        self.leave_running = False
        self.failed = False  # a task of the daemon died: exit with an error
        self.stray_stops: set[asyncio.Task[None]] = set()  # see `adoption`: awaited at the end
        self.metrics: MetricsRunner | None = None
        self._log_watch: LogWatch | None = None
        if settings.metrics is not None:
            from wezparallel.runtime.metrics import MetricsRunner

            self.metrics = MetricsRunner(self.supervisor, self.clock, self.paths.state_dir,
                                         settings.metrics)

    # --- parts built by their first user -----------------------------------------------------
    # A daemon that supervises plain processes never types a prompt nor gets a task: it neither
    # imports these parts (and what they import) nor, for the board, creates its file.

    @property
    def prompts(self) -> PromptSender:
        """One sender for `send` and the board, so that one prompt is typed at a time."""
        if self._prompts is None:
            from wezparallel.runtime.prompts import PromptSender

            self._prompts = PromptSender(self.agents)
        return self._prompts

    @property
    def board(self) -> Board:
        """The task board: opened at start when a saved one exists, else by the first task."""
        if self._board is None:
            self._board = self._open_board()
        return self._board

    def listed_tasks(self) -> list[Task]:
        """Every task, for readers that have no reason to open the board: none before it is."""
        return self._board.listed() if self._board is not None else []

    def _open_board(self) -> Board:
        from wezparallel.runtime.board import Board
        from wezparallel.runtime.task_feedback import TaskFeedback
        from wezparallel.tasks.store import TaskStore

        board = Board(TaskStore(self.paths.state_dir / TASKS_FILE), self.bus, self.clock,
                      self.agents, self.supervisor, self.prompts, self._workspaces)
        self.supervisor.observers.append(TaskFeedback(board))
        return board

    async def _health_check(self, probe: HealthProbe, inputs: ProbeInputs) -> ProbeResult:
        """The built-in kinds and the plugins': set up by the first check."""
        if self._checks is None:
            from wezparallel.events.probes import with_plugin_kinds
            from wezparallel.health.probes import run_check

            self._checks = with_plugin_kinds(self.plugin_host.plugins, run_check)
        return await self._checks(probe, inputs)

    def _on_exit(self, handle: Handle, exit: ExitInfo) -> None:
        self.supervisor.on_exit(handle, exit)

    def _spec_of(self, pid: str) -> ProcessSpec | None:
        """The spec in force now (so `on:` changes apply at once), else the last one run."""
        st = self.supervisor.statuses.get(pid)
        return self.supervisor.desired.get(pid) or (st.spec if st is not None else None)

    def _workspaces(self) -> dict[str, WorkspaceSpec]:
        return {ws.name: ws for ws in self.config.workspaces.values()}

    def _saved_extras(self, pid: str) -> dict[str, object]:
        """What the runtime state keeps per process beside the supervisor's own fields."""
        return {"health_reason": self.health.reason(pid), "agent": self.agents.to_json(pid)}

    # --- config ------------------------------------------------------------------------------

    def read_config(self) -> ConfigSnapshot:
        return config_mod.load(self.paths.conf_dir, self.settings.environ, self.config,
                               self.clock.wall(), self.plugin_host.probe_kinds(),
                               self.last_good, self.plugin_host.discover_probe_kinds)

    def preview(self, snapshot: ConfigSnapshot) -> Plan:
        """What applying `snapshot` would do now, without doing it."""
        sup = self.supervisor
        current = plan(sup.desired, sup.statuses, self.clock.monotonic())
        proposed = plan(snapshot.processes(), sup.statuses, self.clock.monotonic())
        pending = {(a.kind, a.id) for a in current.actions}
        return Plan(tuple(a for a in proposed.actions if (a.kind, a.id) not in pending
                          and a.kind != "promote"), None)

    def reload(self) -> tuple[ConfigSnapshot, Plan]:
        snapshot = self.read_config()
        preview = self.preview(snapshot)
        self.apply_config(snapshot)
        for action in preview.actions:
            log.info("reload: %s", describe(action))
        self.bus.publish("config", None, {
            "files": sorted(snapshot.workspaces),
            "refused": sorted({p.file for p in snapshot.problems}),
            "errors": [str(p) for p in snapshot.problems],
            "plan": [describe(a) for a in preview.actions]})
        return snapshot, preview

    def reload_if_changed(self) -> None:
        """For the file watcher's start: a save made since the files were read, which no
        watcher saw, is taken in now."""
        if config_mod.stamp(self.paths.conf_dir, self.config.env_files) != self.config.stamp:
            log.info("the workspace files changed since they were read: reloading")
            self.reload_quietly()

    def reload_quietly(self) -> None:
        """For the file watcher: the plan goes to the log, nobody waits for it. A save that
        lands during a shutdown is dropped: it would start again what the shutdown stops,
        and those processes would outlive the daemon."""
        if self.stopped.is_set():
            log.info("reload skipped: shutting down")
            return
        self.reload()

    def apply_config(self, snapshot: ConfigSnapshot) -> None:
        for problem in snapshot.problems:
            log.warning("config: %s", problem)
        self.config = snapshot
        self.supervisor.set_desired(snapshot.processes())
        if self._board is not None:
            self._board.poke()  # `dispatch:` may have changed

    # --- lifecycle ---------------------------------------------------------------------------

    def restore(self) -> None:
        """Adopt what an earlier daemon left running and restore the user's stops
        (`adoption`)."""
        adoption.restore(self)

    def replay_spool(self) -> int:
        """Apply the hook events spooled while no daemon listened; right after `restore` and
        before anything awaits, so that they come before every live one (`hook_spool`)."""
        from wezparallel.agents.hooks import spool_path
        from wezparallel.runtime import hook_spool

        try:
            return hook_spool.replay(spool_path(self.paths.state_dir),
                                     hook_spool.applier(self.agents), self.supervisor.save_now)
        except OSError as exc:
            log.error("cannot replay the hook spool: %s", exc)
            return 0

    async def run(self, on_supervising: Callable[[], None] | None = None) -> None:
        """Serve until `stopped` is set (a signal or the `shutdown` command).

        The reconcile loop goes first; the rest (log rotation, metrics, the status file and
        `on_supervising`, the file watcher) begins once the first starts have settled, so
        that the processes a daemon comes up for are not kept waiting by housekeeping."""
        loop_task = asyncio.create_task(self.supervisor.run(), name="reconcile")
        await self._first_starts_settled(loop_task)
        if on_supervising is not None:
            on_supervising()
        # plugin discovery is housekeeping too; what the bus published so far waits for it
        plugins = asyncio.create_task(self.plugin_host.discover_in_background(), name="plugins")
        rotator = LogRotator(lambda: map(self.supervisor.log_path, list(self.supervisor.statuses)),
                             self.settings.log_rotation, self.clock.monotonic,
                             root=self.supervisor.logs_dir)
        tasks = [loop_task, asyncio.create_task(rotator.run(), name="log-rotation")]
        if self.metrics is not None:
            tasks.append(asyncio.create_task(self.metrics.run(), name="metrics"))
        # The status bar's snapshot: rewritten on every event (a state, an activity, a health
        # verdict, a reload, a notice), at most 4 times a second, and on a heartbeat.
        status_file = StatusFile(self.paths.status_file, lambda: status_object(self), self.clock)
        self.bus.listeners.append(status_file.changed)
        tasks.append(asyncio.create_task(status_file.run(), name="status-file"))
        try:
            await self._until_stopped_or_broken(tasks)
            await self.health.close()  # no probe may restart what the shutdown stops
            await self._close_board()  # nor may the stops release tasks
            await self.screen.close()
            await self.supervisor.shutdown(leave_running=self.leave_running)
        finally:
            await self.health.close()
            await self.screen.close()
            await self.hooks.close()
            await self._close_board()
            if self._board is not None:
                self._board.close_store()
            self.bus.close()
            await self.bus.drained(1.0)  # event streams send their last events and their end
            await asyncio.sleep(0)
            self.plugin_host.close()
            plugins.cancel()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, plugins, *self.stray_stops, return_exceptions=True)
            status_file.close()  # after the tasks: nothing may schedule an up: true write
            await self.stopped_panes.close()
            await self.registry.close(leave_running=self.leave_running)
            self.persistence.close()
            if self.metrics is not None:
                self.metrics.close()
            if self._log_watch is not None:
                self._log_watch.close()

    async def _close_board(self) -> None:
        if self._board is not None:
            await self._board.close()

    async def _first_starts_settled(self, loop_task: asyncio.Task[None]) -> None:
        """See `run`: returns early when the loop ends (a bug) or a shutdown is asked for."""
        waiters = [asyncio.create_task(self.supervisor.settled.wait()),
                   asyncio.create_task(self.stopped.wait())]
        await asyncio.wait([loop_task, *waiters], timeout=SETTLE_WAIT,
                           return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
        if not (loop_task.done() or self.stopped.is_set()):
            await asyncio.sleep(HOUSEKEEPING_GRACE)

    def log_watch(self) -> LogWatch:
        """The inotify watch behind `logs -f`, started by the first follower."""
        if self._log_watch is None:
            from wezparallel.runtime.logstream import LogWatch

            self._log_watch = LogWatch()
        return self._log_watch

    async def _until_stopped_or_broken(self, tasks: list[asyncio.Task[None]]) -> None:
        """Wait for a shutdown request, or for one of the daemon's own tasks to end, which
        only a bug does. Then the daemon goes down with an error, leaving its processes
        running: without its loop it can neither restart nor stop them, and a service manager
        that restarts it gets a daemon that adopts them all again (issue 16.1)."""
        stop = asyncio.create_task(self.stopped.wait())
        try:
            await asyncio.wait([stop, *tasks], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        for task in tasks:
            if task.done():
                self._broken(task)

    def _broken(self, task: asyncio.Task[None]) -> None:
        self.failed = True
        self.leave_running = True
        exc = None if task.cancelled() else task.exception()
        log.error("the daemon's %s task ended%s; exiting with an error so that a restarted "
                  "daemon adopts what runs", task.get_name(),
                  f" with {type(exc).__name__}: {exc}" if exc else "", exc_info=exc)

    def request_shutdown(self, *, leave_running: bool = False) -> None:
        if not self.stopped.is_set():
            self.bus.publish("daemon", None, {"what": "stopping",
                                              "leave_running": leave_running})
        self.leave_running = leave_running
        self.stopped.set()
