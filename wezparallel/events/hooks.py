"""`on:` hooks: the user's commands, run when a process reaches an event.

The bus calls `on_event` synchronously; it only looks up the process's hooks and queues a task,
so supervision never waits for a hook. Hooks run with the event as JSON on stdin, at most
`hook_concurrency` at a time, each in its own session so that a timeout kills the whole process
group, never just the shell in front of it. A hook that cannot start, fails or times out is
logged and reported through `notify`, which makes it a `notice` event (and shows it in status).
The hooks are looked up when the event happens, so a reload that changes `on:` applies at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from wezparallel.events.model import Event, hook_names
from wezparallel.events.settings import EventSettings
from wezparallel.spec.model import ProcessSpec

log = logging.getLogger(__name__)

STDERR_SHOWN = 300  # characters of a failed hook's stderr put in its notice


@dataclass(frozen=True)
class HookRun:
    process: str
    name: str  # the `on:` event name
    argv: tuple[str, ...]
    cwd: str
    event: Event


class HookRunner:
    def __init__(self, spec_for: Callable[[str], ProcessSpec | None],
                 notify: Callable[[str, str], object], settings: EventSettings,
                 environ: Mapping[str, str] | None = None) -> None:
        self._spec_for = spec_for
        self._notify = notify
        self.settings = settings
        self._environ = dict(os.environ if environ is None else environ)
        self._slots: asyncio.Semaphore | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._groups: set[int] = set()  # process groups of hooks running now
        self.finished = 0  # hooks run to completion or failure, for tests and benchmarks

    def on_event(self, event: Event) -> None:
        """Bus listener: queue the hooks this event fires; never waits."""
        if event.id is None:
            return
        names = hook_names(event)
        spec = self._spec_for(event.id) if names else None
        if spec is None:
            return
        for hook in spec.on:
            if hook.event in names:
                self._queue(HookRun(event.id, hook.event, hook.command, spec.cwd, event))

    def _queue(self, run: HookRun) -> None:
        if len(self._tasks) >= self.settings.hook_backlog:
            self._notify(run.process, f"on {run.name}: skipped, {len(self._tasks)} hooks "
                         "are already waiting")
            return
        try:
            task = asyncio.get_running_loop().create_task(self._run(run))
        except RuntimeError:
            log.warning("%s: on %s: no event loop to run the hook", run.process, run.name)
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, run: HookRun) -> None:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.settings.hook_concurrency)
        async with self._slots:
            try:
                failure = await self._execute(run)
            finally:
                self.finished += 1
        if failure is not None:
            log.warning("%s: on %s hook %s", run.process, run.name, failure)
            self._notify(run.process, f"on {run.name} hook {failure}")

    async def _execute(self, run: HookRun) -> str | None:
        """Run one hook; a description of what went wrong, or None when it exited 0."""
        env = self._environ | {"WEZPARALLEL_EVENT": run.name, "WEZPARALLEL_PROCESS": run.process}
        data = json.dumps(run.event.to_json()).encode() + b"\n"
        try:
            proc = await asyncio.create_subprocess_exec(
                *run.argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE, cwd=run.cwd, env=env, start_new_session=True)
        except OSError as exc:
            return f"could not start {run.argv[0]!r}: {exc.strerror or exc}"
        self._groups.add(proc.pid)
        try:
            _, err = await asyncio.wait_for(proc.communicate(data), self.settings.hook_timeout)
        except TimeoutError:
            _kill_group(proc.pid)
            await proc.wait()
            return f"timed out after {self.settings.hook_timeout:g} s and was killed"
        finally:
            _kill_group(proc.pid)  # whatever it left behind in its group goes with it
            self._groups.discard(proc.pid)
        code = proc.returncode or 0
        if code != 0:
            tail = err.decode(errors="replace").strip()[-STDERR_SHOWN:]
            how = f"exit {code}" if code > 0 else f"killed by signal {-code}"
            return f"failed ({how})" + (f": {tail}" if tail else "")
        return None

    async def close(self, grace: float = 2.0) -> None:
        """Let running hooks finish for `grace` seconds (a `stopped` hook at shutdown), then
        kill what is left: nothing we start outlives the daemon."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace)
        for pgid in list(self._groups):
            _kill_group(pgid)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
