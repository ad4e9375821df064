"""Panes of processes that are down for good leave the workspace's layout.

A pane backend keeps a dead pane in place so a crashed process restarts where it was. A
process that will not come back by itself (stopped by the user, FATAL, EXITED under its
policy) would keep that place for nothing: a stopped agent kept the main pane. This observer
tells the backend once the supervisor has decided: the backend parks the pane (where its last
screen stays readable) or, for a process that left the config, closes it, and lays the window
out again for the panes still running.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Protocol, runtime_checkable

from wezparallel.backends.base import Handle
from wezparallel.errors import WezparallelError
from wezparallel.plan.actions import Start
from wezparallel.plan.lifecycle import ExitInfo, State
from wezparallel.runtime.launch import Launch
from wezparallel.runtime.supervisor import Supervisor
from wezparallel.spec.model import ProcessSpec

log = logging.getLogger(__name__)

@runtime_checkable
class Retiring(Protocol):
    def retire(self, process_id: str, *, gone: bool) -> Awaitable[None]: ...


class StoppedPanes:
    """A supervisor observer (see `Supervisor.observers`)."""

    def __init__(self, supervisor: Supervisor, shutting_down: asyncio.Event) -> None:
        self._sup = supervisor
        self._shutting_down = shutting_down  # then the backends close the panes themselves
        self._tasks: set[asyncio.Task[None]] = set()

    def process_up(self, spec: ProcessSpec, handle: Handle, launch: Launch | None) -> None:
        pass

    def process_down(self, pid: str, exit: ExitInfo) -> None:
        backend = self._sup.backend_of(pid)
        st = self._sup.statuses.get(pid)
        if not isinstance(backend, Retiring) or st is None or self._shutting_down.is_set():
            return
        gone = pid not in self._sup.desired
        if not gone and st.wanted and not self._down_for_good(pid, st.state):
            return  # a restart is on its way: the pane keeps its place
        task = asyncio.get_running_loop().create_task(self._retire(backend, pid, gone))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _down_for_good(self, pid: str, state: State) -> bool:
        """FATAL, or EXITED with no start planned (the restart policy restarts an exit after
        RUNNING from EXITED at once; a failed start waits in BACKOFF)."""
        if state == State.FATAL:
            return True
        return state == State.EXITED and not any(
            isinstance(a, Start) and a.id == pid for a in self._sup.plan().actions)

    async def _retire(self, backend: Retiring, pid: str, gone: bool) -> None:
        try:
            await backend.retire(pid, gone=gone)
        except WezparallelError as exc:
            log.debug("%s: cannot move its pane out of the layout: %s", pid, exc)

    async def close(self) -> None:
        """Cancel what is under way and wait for it, before the backends close."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5.0)
