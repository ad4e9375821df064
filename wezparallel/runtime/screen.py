"""Agent activity from the pane's text, for agents whose hooks do not report to us.

Hooks are the primary source (`runtime.agents`); an agent started with `claude: {hooks:
false}` (or by a daemon without a socket for hooks to call) says nothing about itself. If it
runs in a terminal pane, this poller captures the pane every `interval` seconds and feeds the
text to `agents.activity.ScreenWatch`, which classifies it and holds back `idle` until the
text has settled, then hands the result to the `AgentTracker`. A headless agent has no screen
to read and stays untracked (its activity shows as null rather than a guess).

One task per agent instance, cancelled on its exit, a restart or the daemon's shutdown, like
the health probes. A capture is one short `tmux`/`wezterm cli` call, made as the `capture` verb
makes it (awaited for tmux, so a hung server costs the poller, never the loop); time and
sleeping are injected so tests script whole screen histories with a fake clock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

from wezparallel.backends.base import Handle, resolved
from wezparallel.clock import Clock
from wezparallel.errors import WezparallelError
from wezparallel.plan.lifecycle import ExitInfo
from wezparallel.runtime.agents import AgentTracker
from wezparallel.runtime.launch import Launch
from wezparallel.runtime.supervisor import Supervisor
from wezparallel.runtime.tasks import InstanceTasks
from wezparallel.spec.model import ProcessSpec

log = logging.getLogger(__name__)

INTERVAL = 2.0  # seconds between two captures of an agent's pane
SETTLE = 3.0  # seconds the text must stay idle-looking before `idle` is reported
LINES = 40  # lines captured: the bottom of the screen is where the prompt box and spinner are

Sleep = Callable[[float], Awaitable[None]]


@runtime_checkable
class PaneText(Protocol):
    """What a backend needs for the poller: the rendered text of a process's pane."""

    def capture(self, handle: Handle, lines: int) -> str | Awaitable[str]: ...


def screen_only(spec: ProcessSpec, launch: Launch | None) -> bool:
    """An agent whose activity nothing but its screen can tell. An adopted instance (no
    launch) is judged by its config, as `AgentTracker.process_up` does."""
    if launch is not None:
        return launch.agent and not launch.reports_activity
    return spec.claude is not None and not spec.claude.hooks


class ScreenPoller:
    """A supervisor observer: starts and ends one polling task per screen-only agent."""

    def __init__(self, supervisor: Supervisor, tracker: AgentTracker, clock: Clock, *,
                 interval: float = INTERVAL, settle: float = SETTLE, lines: int = LINES,
                 sleep: Sleep = asyncio.sleep) -> None:
        self._sup = supervisor
        self._tracker = tracker
        self._clock = clock
        self.interval = interval
        self.settle = settle
        self.lines = lines
        self._sleep = sleep
        self.tasks = InstanceTasks()

    # --- observer -----------------------------------------------------------------------------

    def process_up(self, spec: ProcessSpec, handle: Handle, launch: Launch | None) -> None:
        self.tasks.cancel(spec.id)
        backend = self._sup.backend_of(spec.id)
        if not screen_only(spec, launch) or handle.pane is None \
                or not isinstance(backend, PaneText):
            return
        self._tracker.watch_screen(spec.id)
        self.tasks.start(spec.id, self._watch(spec.id, backend, handle), f"screen {spec.id}")

    def process_down(self, pid: str, exit: ExitInfo) -> None:
        self.tasks.cancel(pid)

    async def close(self) -> None:
        await self.tasks.close()

    # --- one instance -------------------------------------------------------------------------

    async def _watch(self, pid: str, backend: PaneText, handle: Handle) -> None:
        from wezparallel.agents.activity import ScreenWatch  # with the first screen-only agent

        watch = ScreenWatch(settle=self.settle)
        while True:
            await self._sleep(self.interval)
            if not self.tasks.is_current(pid):
                return  # cancelled, even if the CancelledError itself got lost
            try:
                text = await resolved(backend.capture(handle, self.lines))
            except WezparallelError as exc:  # the pane is going away: its exit is on the way
                log.debug("%s: cannot capture its pane: %s", pid, exc)
                continue
            watch, seen = watch.observe(text, self._clock.monotonic())
            if seen is not None:
                self._tracker.on_screen(pid, seen)
