"""The reconcile loop: event -> observe -> plan -> apply, and nothing else.

Decisions come from `wezparallel.plan`; this module only applies them through backends and
feeds events back: a child's exit, a timer that falls due, a user's command, a config change.
Every change wakes one loop task, which replans until there is nothing left to do, so two
decisions never race.

A start runs beside the loop, as a task of its own (in order with the other starts on the same
backend): a backend that hangs (a stopped tmux server) delays its own processes, never the
other backends' restarts or the loop. While a process's start is in flight, the plan's actions
for it wait; its end is an event like an exit.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from wezparallel.backends import markers
from wezparallel.backends.base import Backend, Handle
from wezparallel.clock import Clock
from wezparallel.errors import PermanentError, WezparallelError
from wezparallel.plan import lifecycle as lc
from wezparallel.plan.actions import Action, Forget, Promote, Restart, Start, Stop, Update, describe
from wezparallel.plan.lifecycle import ExitInfo, ProcessStatus, State
from wezparallel.plan.planner import Plan, plan
from wezparallel.runtime.launch import Launch, Launcher
from wezparallel.runtime.persist import Persistence
from wezparallel.spec.model import ProcessSpec

log = logging.getLogger(__name__)

BackendFor = Callable[[ProcessSpec], Backend]
DEFAULT_STOP = (signal.SIGTERM, 10.0)  # for an adopted process no longer in any file


class Observer(Protocol):
    """Told when an instance comes up (`launch` is None for one adopted from an earlier
    daemon) and when it ends: agent activity and health probes follow instances this way."""

    def process_up(self, spec: ProcessSpec, handle: Handle, launch: Launch | None) -> None: ...

    def process_down(self, pid: str, exit: ExitInfo) -> None: ...


def _log_exit(st: ProcessStatus, exit: ExitInfo, now: float) -> None:
    """A process that gave up is an error a person must act on; one backing off, a warning
    that says when it tries again."""
    if st.state == State.FATAL:
        log.error("%s exited (%s) -> FATAL: %s", st.id, exit.describe(), st.error)
    elif st.state == State.BACKOFF and st.retry_at is not None:
        log.warning("%s exited (%s) -> BACKOFF: %s; retry %d in %gs", st.id,
                    exit.describe(), st.error, st.fails, round(max(0.0, st.retry_at - now), 2))
    else:
        log.info("%s exited (%s) -> %s", st.id, exit.describe(), st.state)


class Supervisor:
    def __init__(self, backend_for: BackendFor, clock: Clock, state_dir: Path,
                 persistence: Persistence | None = None,
                 launcher: Launcher | None = None) -> None:
        self._backend_for = backend_for
        self.clock = clock
        self.state_dir = state_dir
        self.persistence = persistence
        self.launcher = launcher or Launcher(state_dir)
        self.mark = markers.daemon_mark(state_dir)
        self.observers: list[Observer] = []
        # told each status a change or an observation touched; events are diffed from these
        self.status_watchers: list[Callable[[str, ProcessStatus | None], None]] = []
        # told when a reload changes how a running instance is supervised (same pid)
        self.update_listeners: list[Callable[[ProcessSpec, Handle], None]] = []
        self.desired: dict[str, ProcessSpec] = {}
        self.statuses: dict[str, ProcessStatus] = {}
        self.handles: dict[str, Handle] = {}
        self._backends: dict[str, Backend] = {}  # by process id, for the running instance
        self._wake = asyncio.Event()
        self._wake.set()  # the first pass runs at once, with whatever is desired by then
        self._changed = asyncio.Condition()
        self._stopping_tasks: set[asyncio.Task[None]] = set()
        self._starting: dict[str, asyncio.Task[None]] = {}  # by process id, while in flight
        self._lanes: dict[int, asyncio.Lock] = {}  # by backend, so its starts stay in order
        self._timer: asyncio.TimerHandle | None = None
        self._dirty = False
        # set when a pass ends with no start in flight: a starting daemon's housekeeping
        # waits for the first time, so that its processes do not queue behind it
        self.settled = asyncio.Event()

    # --- events in ---------------------------------------------------------------------------

    def set_desired(self, desired: Mapping[str, ProcessSpec]) -> None:
        self.desired = dict(desired)
        self.wake()

    def on_exit(self, handle: Handle, exit: ExitInfo) -> None:
        """Backend callback: the process behind `handle` ended."""
        if self.handles.get(handle.id) != handle:
            return  # an instance we already replaced
        del self.handles[handle.id]
        now = self.clock.monotonic()
        st = self.statuses[handle.id] = lc.on_exit(self.statuses[handle.id], exit, now)
        _log_exit(st, exit, now)
        self._touched(handle.id)
        for observer in self.observers:
            observer.process_down(handle.id, exit)
        self._dirty = True
        self.wake()

    def request(self, ids: list[str], verb: str) -> None:
        """A user's start/stop/restart: change the intent; the planner does the rest."""
        change = {"start": lc.request_start, "stop": lc.request_stop,
                  "restart": lc.request_restart}[verb]
        now = self.clock.monotonic()
        for pid in ids:
            st = self.statuses.get(pid) or lc.initial(self.desired[pid], now)
            self.statuses[pid] = change(st, now)
            self._touched(pid)
        self._dirty = True
        self.wake()

    def set_health(self, pid: str, health: str, instance_pid: int) -> None:
        """A probe's verdict on the instance `instance_pid`; a late one about an instance
        already replaced is dropped. Wakes the loop: dependents may wait for `healthy`, and
        the health is saved with the runtime state."""
        st = self.statuses.get(pid)
        if st is not None and st.pid == instance_pid and st.health != health:
            self.statuses[pid] = replace(st, health=health)
            self._touched(pid)
            self.save_soon()  # kept across a daemon restart too

    def give_up(self, pid: str, reason: str) -> None:
        """Stop restarting `pid`, which ended for a reason restarts cannot fix (see
        `lifecycle.give_up`); logged at ERROR like every FATAL."""
        st = self.statuses.get(pid)
        if st is None:
            return
        new = lc.give_up(st, reason, self.clock.monotonic())
        if new != st:
            log.error("%s: %s -> FATAL: %s", pid, st.state, reason)
            self.statuses[pid] = new
            self._touched(pid)
            self.save_soon()

    def save_soon(self) -> None:
        """Something saved with the runtime state changed outside a reconcile (an agent's
        activity): the loop saves it on its next pass, which this starts."""
        self._dirty = True
        self.wake()

    def save_now(self) -> None:
        """Write the runtime state at once: the hook spool is removed only once what it
        changed is on disk."""
        self._dirty = False
        self._save()

    def wake(self) -> None:
        self._wake.set()

    def _touched(self, pid: str) -> None:
        for watcher in self.status_watchers:
            watcher(pid, self.statuses.get(pid))

    # --- the loop ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Reconcile whenever something happened, until cancelled."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self._reconcile(wait_for_starts=False)

    async def reconcile(self) -> None:
        """Plan and apply until the plan is empty, the starts it made included; then arm the
        timer for what falls due."""
        await self._reconcile(wait_for_starts=True)

    async def _reconcile(self, *, wait_for_starts: bool) -> None:
        while True:
            current = self.plan()
            actions = [a for a in current.actions if a.id not in self._starting]
            for action in actions:
                await self._apply(action)
            if not actions:
                if not (wait_for_starts and self._starting):
                    break
                await asyncio.wait(list(self._starting.values()))
        self._arm_timer(current)
        if self._dirty:
            self._dirty = False
            self._save()
        if not self._starting:
            self.settled.set()
        async with self._changed:
            self._changed.notify_all()

    def plan(self) -> Plan:
        return plan(self.desired, self.statuses, self.clock.monotonic())

    async def wait_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Block a command until the statuses satisfy `predicate`, or `timeout` passes."""
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(predicate), timeout)
            except TimeoutError:
                return predicate()
        return True

    def _arm_timer(self, current: Plan) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if current.wake_at is not None:
            delay = max(0.0, current.wake_at - self.clock.monotonic())
            self._timer = asyncio.get_running_loop().call_later(delay, self.wake)

    # --- applying actions --------------------------------------------------------------------

    async def _apply(self, action: Action) -> None:
        """Carry out one action; each re-checks the state, as an event may have moved it
        since the plan was made."""
        st = self.statuses.get(action.id)
        now = self.clock.monotonic()
        # A start changes nothing saved until its task runs, and that task's end marks the
        # state dirty: a pass that only begins starts needs no write before the first fork.
        self._dirty = self._dirty or not isinstance(action, Start)
        if not isinstance(action, Promote) and log.isEnabledFor(logging.INFO):
            log.info("%s", describe(action))
        match action:
            case Start():
                if st is None or st.state not in lc.UP_STATES | {State.STOPPING}:
                    self._begin_start(action, st or lc.initial(action.spec, now))
            case Stop() | Restart():
                if st is not None and st.state in lc.UP_STATES:
                    self._stop(action.id, st)
            case Update(spec=spec):
                if st is not None:
                    self.statuses[action.id] = replace(st, spec=spec)
                    self._tell_updated(spec, st)
            case Promote():
                if st is not None and st.state == State.STARTING:
                    self.statuses[action.id] = lc.promote(st, now)
            case Forget():
                if st is not None and st.state not in lc.UP_STATES | {State.STOPPING}:
                    del self.statuses[action.id]
        self._touched(action.id)

    def _begin_start(self, action: Start, st: ProcessStatus) -> None:
        try:
            lane = self._lanes.setdefault(id(self._backend_for(action.spec)), asyncio.Lock())
        except WezparallelError:
            lane = asyncio.Lock()  # `_start` reports why the backend cannot be had

        async def start() -> None:
            async with lane:
                current = self.statuses.get(action.id, st)  # a user's stop may have come in
                if current.wanted:  # (every planned start is of a wanted process)
                    await self._start(action, current)

        task = asyncio.create_task(start(), name=f"start {action.id}")
        self._starting[action.id] = task
        task.add_done_callback(lambda t: self._start_done(action.spec, t))

    def starting(self, pid: str) -> bool:
        """A start of `pid` is under way: its status does not show it yet."""
        return pid in self._starting

    def _start_done(self, spec: ProcessSpec, task: asyncio.Task[None]) -> None:
        """A start's end is an event; one that raised what no backend should is still that
        process's failed start (retried with backoff), never a hot loop or a dead loop."""
        if self._starting.get(spec.id) is task:
            del self._starting[spec.id]
        exc = None if task.cancelled() else task.exception()
        st = self.statuses.get(spec.id)
        if exc is not None and st is not None and spec.id not in self.handles:
            log.error("%s: cannot start: %r", spec.id, exc, exc_info=exc)
            self.statuses[spec.id] = lc.on_spawn_failed(
                st, spec, f"unexpected error: {exc!r}", self.clock.monotonic(),
                permanent=False)
        self._dirty = True
        self.wake()

    async def _start(self, action: Start, st: ProcessStatus) -> None:
        spec = action.spec
        now = self.clock.monotonic()
        self.statuses[spec.id] = st = replace(st, spec=spec)
        try:
            backend = self._backend_for(spec)
            launch = await self.launcher.prepare(spec)
            token = os.urandom(8).hex()
            run_spec = self._marked(launch.spec, backend.name, token)
            if self.persistence is not None:  # write ahead: a crash from here on is found
                self.persistence.spawning(spec, token)
            handle = await backend.spawn(run_spec, launch.argv, self.log_path(spec.id))
        except WezparallelError as exc:
            permanent = isinstance(exc, PermanentError)
            log.error("%s: cannot start: %s", spec.id, exc)
            self.statuses[spec.id] = lc.on_spawn_failed(st, spec, str(exc), now,
                                                         permanent=permanent)
            return
        except Exception as exc:  # one process's failed start, never the end of the loop
            log.exception("%s: cannot start (unexpected error)", spec.id)
            self.statuses[spec.id] = lc.on_spawn_failed(
                st, spec, f"unexpected error: {type(exc).__name__}: {exc}", now, permanent=False)
            return
        if self.persistence is not None:
            self.persistence.spawned(spec, handle)
        self.handles[spec.id] = handle
        self._backends[spec.id] = backend
        st = self.statuses.get(spec.id, st)  # a user's stop may have come in meanwhile
        self.statuses[spec.id] = lc.on_spawned(
            st, spec, handle.pid, now, counts_as_restart=action.counts_as_restart,
            backend=handle.backend, pane=handle.pane)
        self._touched(spec.id)  # the state event before what observers derive from it
        self._tell_up(spec, handle, launch)

    def _marked(self, spec: ProcessSpec, backend: str, token: str) -> ProcessSpec:
        """The spec as started: its environment carries our mark (see backends.markers)."""
        env = {**spec.env_dict, **markers.environment(self.mark, backend, token, spec.id)}
        return replace(spec, env=tuple(sorted(env.items())))

    def _tell_up(self, spec: ProcessSpec, handle: Handle, launch: Launch | None) -> None:
        for observer in self.observers:
            observer.process_up(spec, handle, launch)

    def _tell_updated(self, spec: ProcessSpec, st: ProcessStatus) -> None:
        handle = self.handles.get(spec.id)
        if handle is not None and st.state in lc.UP_STATES:
            for listener in self.update_listeners:
                listener(spec, handle)

    def _stop(self, pid: str, st: ProcessStatus) -> None:
        self.statuses[pid] = lc.begin_stop(st, self.clock.monotonic())
        handle = self.handles.get(pid)
        backend = self._backends.get(pid)
        if handle is None or backend is None:
            return
        spec = st.spec
        signum, timeout = (signal.Signals[f"SIG{spec.stop_signal}"], spec.stop_timeout) \
            if spec is not None else DEFAULT_STOP
        task = asyncio.create_task(backend.stop(handle, signum, timeout))
        self._stopping_tasks.add(task)
        task.add_done_callback(self._stopping_tasks.discard)

    # --- queries -----------------------------------------------------------------------------

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    def log_path(self, pid: str) -> Path:
        workspace, _, name = pid.partition(":")
        return self.logs_dir / workspace / f"{name}.log"

    def backend_of(self, pid: str) -> Backend | None:
        return self._backends.get(pid)

    def _save(self, intents: Mapping[str, bool] | None = None) -> None:
        if self.persistence is not None:
            self.persistence.save(self.statuses, self.handles, intents)

    def adopt(self, backend: Backend, handle: Handle, *, wanted: bool, restarts: int,
              spec_matches: bool, started_wall: float | None = None,
              since_wall: float | None = None, health: str = "unknown") -> bool:
        """Take back a process an earlier daemon started, RUNNING since when that daemon saw
        it start (`started_wall`, `since_wall`: wall-clock times; from now without them), with
        the health it had. When its config changed meanwhile, it is restarted by the next plan."""
        if not backend.adopt(handle):
            return False
        spec = self.desired.get(handle.id)
        st = ProcessStatus(id=handle.id, state=State.RUNNING, wanted=wanted, spec=spec,
                           pid=handle.pid, started_at=self._monotonic(started_wall),
                           since=self._monotonic(since_wall), restarts=restarts,
                           restart_requested=spec is not None and not spec_matches,
                           backend=handle.backend, pane=handle.pane, health=health)
        self.statuses[handle.id] = st
        self.handles[handle.id] = handle
        self._backends[handle.id] = backend
        if spec is not None:
            self._tell_up(spec, handle, None)
        self._dirty = True
        return True

    def _monotonic(self, wall: float | None) -> float:
        """A saved wall-clock time on our monotonic clock; now for none, or one to come."""
        now = self.clock.monotonic()
        if wall is None:
            return now
        return now - max(0.0, self.clock.wall() - wall)

    def _all_down(self) -> bool:
        return not self._starting and not any(s.state in lc.UP_STATES | {State.STOPPING}
                                              for s in self.statuses.values())

    async def shutdown(self, *, leave_running: bool, timeout: float = 60.0) -> None:
        """Stop everything we started (unless told to leave it), waiting for each to be gone.
        The loop task must still be running: it applies the stops and their exits."""
        if leave_running:
            self._save()
            return
        intents = {pid: st.wanted for pid, st in self.statuses.items()}
        self.desired = {}
        self.wake()
        await self.wait_until(self._all_down, timeout)
        self._save(intents)
