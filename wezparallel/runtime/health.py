"""Health probes in the running daemon: one task per probed process instance.

The decisions (when a probe is due, when failures make a process unhealthy, which action to
take once) are `wezparallel.health.probes.ProbeState`'s, folded here by the pure `ProbeSet`;
this module only runs the due checks, feeds in what it observed, publishes the result to the
supervisor's status (where `depends_on: {condition: healthy}` sees it) and asks for a restart
when a probe says so. A task lives as long as its process instance: an exit, a restart or the
daemon's shutdown cancels it, and the next instance starts with fresh probes. A reload that
changes `health` is applied in place: the instance keeps its pid and gets a new task with the
new probes (the old verdict and reason are dropped with the probes that made them).

Time comes from the injected clock and sleeping from an injected function, so tests drive a
whole probe history with a FakeClock and no waiting.

The probes' rules and checks (`health.probes`) are imported by the first instance that has
probes: a daemon whose processes have none follows their instances and never loads them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from wezparallel.backends.base import Handle
from wezparallel.clock import Clock
from wezparallel.plan.lifecycle import ExitInfo
from wezparallel.runtime.launch import Launch
from wezparallel.runtime.supervisor import Supervisor
from wezparallel.runtime.tasks import InstanceTasks
from wezparallel.spec.model import HealthProbe, ProcessSpec

if TYPE_CHECKING:
    from wezparallel.agents.activity import Activity
    from wezparallel.health.probes import ProbeInputs, ProbeResult, ProbeSet, Verdict

log = logging.getLogger(__name__)


Check = Callable[[HealthProbe, "ProbeInputs"], Awaitable["ProbeResult"]]
Sleep = Callable[[float], Awaitable[None]]
Notify = Callable[[str, str], object]  # (process id, message): see runtime/notices.py


@dataclass
class _Instance:
    """What the checks of one running instance need to know about it."""

    spec: ProcessSpec
    handle: Handle
    cwd: str
    started_at: float  # monotonic
    log_offset: int = 0
    seed: str = "unknown"  # the health an adopted instance had (as `ProcessStatus.health`)


class HealthRunner:
    def __init__(self, supervisor: Supervisor, clock: Clock, *,
                 activity: Callable[[str], Activity | None] = lambda _pid: None,
                 check: Check | None = None, sleep: Sleep = asyncio.sleep,
                 rss: Callable[[int], int | None] | None = None,
                 notify: Notify | None = None) -> None:
        """`check` None: the built-in checks (`health.probes.run_check`); `rss` None: the
        process tree's (`health.probes.tree_rss`)."""
        self._sup = supervisor
        self._clock = clock
        self._activity = activity
        self._check = check
        self._sleep = sleep
        self._rss = rss
        self._notify = notify
        self.tasks = InstanceTasks()
        self._instances: dict[str, _Instance] = {}  # every live instance, probed or not yet
        self.reasons: dict[str, str] = {}  # the last failed check's reason, kept across restarts

    def reason(self, pid: str) -> str | None:
        return self.reasons.get(pid)

    # --- observer -----------------------------------------------------------------------------

    def process_up(self, spec: ProcessSpec, handle: Handle, launch: Launch | None) -> None:
        self.tasks.cancel(spec.id)
        cwd = launch.spec.cwd if launch is not None else spec.cwd
        st = self._sup.statuses.get(spec.id)
        seed = st.health if launch is None and st is not None else "unknown"
        inst = _Instance(spec, handle, cwd, self._clock.monotonic(), seed=seed)
        self._instances[spec.id] = inst
        self._probe(inst)

    def process_updated(self, spec: ProcessSpec, handle: Handle) -> None:
        """A reload changed how the running instance `handle` is supervised."""
        inst = self._instances.get(spec.id)
        if inst is None or inst.handle != handle:
            return
        old, inst.spec = inst.spec.health, spec
        if spec.health == old:
            return
        self.tasks.cancel(spec.id)
        self.reasons.pop(spec.id, None)
        inst.seed = "unknown"  # new probes: the old verdict says nothing about them
        self._sup.set_health(spec.id, "unknown", handle.pid)
        self._probe(inst)

    def _probe(self, inst: _Instance) -> None:
        """Start the probes of `inst`'s spec, from the output it prints from now on; they
        are due at once when the instance is older than their first interval."""
        if inst.spec.health:
            inst.log_offset = _size(self._sup.log_path(inst.spec.id))
            self.tasks.start(inst.spec.id, self._watch(inst), f"health {inst.spec.id}")

    def process_down(self, pid: str, exit: ExitInfo) -> None:
        self.tasks.cancel(pid)
        self._instances.pop(pid, None)

    async def close(self) -> None:
        """No probe may outlive the daemon, nor restart what a shutdown is stopping."""
        self._instances.clear()
        await self.tasks.close()

    # --- one instance -------------------------------------------------------------------------

    async def _watch(self, inst: _Instance) -> None:
        from wezparallel.health.probes import Health, ProbeSet  # with the first probed instance

        probes = ProbeSet.begin(inst.spec.health, inst.started_at, Health(inst.seed))
        while self._registered(inst):
            for index in probes.due(self._clock.monotonic()):
                probes = await self._check_one(inst, probes, index)
            if not self._registered(inst):
                return
            await self._sleep(max(0.0, probes.next_due() - self._clock.monotonic()))

    def _registered(self, inst: _Instance) -> bool:
        """Still the task of a live instance; false once cancelled, even if the
        CancelledError itself got lost."""
        return self.tasks.is_current(inst.spec.id)

    async def _check_one(self, inst: _Instance, probes: ProbeSet, index: int) -> ProbeSet:
        probes, verdict = await self._record(inst, probes, index)
        if verdict.action == "restart":
            return await self._restart(inst, probes, index)
        reason = self.reasons.get(inst.spec.id)
        if verdict.action == "notify" and self._notify is not None:
            self._notify(inst.spec.id, reason or f"{inst.spec.id} is unhealthy")
        elif verdict.action is not None:
            log.warning("%s: unhealthy (%s)", inst.spec.id, reason)
        return probes

    async def _record(self, inst: _Instance, probes: ProbeSet,
                      index: int) -> tuple[ProbeSet, Verdict]:
        """Run one check, fold it in and publish the process's health."""
        from wezparallel.health.probes import Health, Verdict

        probe = probes.states[index].probe
        result = await self._run(probe, inst)
        if not self._registered(inst):  # replaced while checking: its verdict is stale
            return probes, Verdict(Health.UNKNOWN)
        probes, verdict = probes.record(index, result, self._clock.monotonic())
        if not result.ok:
            self.reasons[inst.spec.id] = f"{probe.kind}: {verdict.reason}"
        health, _ = probes.health()
        self._sup.set_health(inst.spec.id, health.value, inst.handle.pid)
        return probes, verdict

    async def _restart(self, inst: _Instance, probes: ProbeSet, index: int) -> ProbeSet:
        """Restart, but never an instance younger than the probe's interval: a server still
        booting fails its first check, and restarting it then would loop with no pause. Such
        an instance is checked once more when it is that old (an `output` match is decisive
        as it is) and restarted only if that check fails too."""
        from wezparallel.health.probes import Health

        probe = probes.states[index].probe
        hold = inst.started_at + probe.interval - self._clock.monotonic()
        if hold > 0:
            await self._sleep(hold)
            if probe.kind != "output":
                probes, _ = await self._record(inst, probes, index)
                if probes.states[index].health != Health.UNHEALTHY:
                    return probes
        log.warning("%s: unhealthy (%s); restarting it", inst.spec.id,
                    self.reasons.get(inst.spec.id))
        self._sup.request([inst.spec.id], "restart")
        return probes

    async def _run(self, probe: HealthProbe, inst: _Instance) -> ProbeResult:
        from wezparallel.health.probes import (
            ProbeInputs,
            ProbeResult,
            read_new_lines,
            run_check,
            tree_rss,
        )

        pid = inst.spec.id
        inputs = ProbeInputs(now=self._clock.wall(), cwd=inst.cwd,
                             env={**os.environ, **inst.spec.env_dict})
        if probe.kind == "output":
            lines, inst.log_offset = read_new_lines(self._sup.log_path(pid), inst.log_offset)
            inputs = replace(inputs, new_lines=lines)
        elif probe.kind == "idle":
            act = self._activity(pid)
            inputs = replace(inputs, activity=act.current.value if act else None,
                             activity_since=act.since if act else None)
        elif probe.kind == "memory":
            inputs = replace(inputs, rss=(self._rss or tree_rss)(inst.handle.pid))
        try:
            return await (self._check or run_check)(probe, inputs)
        except OSError as exc:  # a log we may not read, /proc gone: a failed check, not a crash
            return ProbeResult(False, f"{probe.kind} probe could not run: {exc}")


def _size(path: os.PathLike[str]) -> int:
    with contextlib.suppress(OSError):
        return os.stat(path).st_size
    return 0
