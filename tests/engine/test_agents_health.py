"""`HealthRunner` inside a supervisor with the in-memory backend, a fake clock and a fake
sleep: whole probe histories (healthy, unhealthy, restart, depends_on healthy) with no waiting.

The checks are scripted here; the real checks against real servers are tested in
tests/health and end to end in test_agents_e2e."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from wezparallel.backends.memory import MemoryBackend
from wezparallel.clock import FakeClock
from wezparallel.health.probes import ProbeInputs, ProbeResult, ProbeSet
from wezparallel.plan.lifecycle import ExitInfo, ProcessStatus, State
from wezparallel.runtime.health import HealthRunner
from wezparallel.runtime.notices import Notice, Notices
from wezparallel.runtime.supervisor import Supervisor
from wezparallel.spec.model import Dependency, DependencyCondition, HealthProbe, ProcessSpec


class FakeSleep:
    """Sleepers wake when `advance` moves the fake clock past their deadline, in order."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.sleepers: list[tuple[float, asyncio.Future[None]]] = []

    async def __call__(self, delay: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.sleepers.append((self.clock.now + delay, fut))
        await fut


class Harness:
    def __init__(self, tmp: Path) -> None:
        self.clock = FakeClock()
        self.sleep = FakeSleep(self.clock)
        self.ok: dict[str, bool] = {}  # probe url -> the scripted result
        self.checks: list[tuple[str, float]] = []  # (url, when)
        self.backend: MemoryBackend | None = None
        self.sup = Supervisor(self._backend, self.clock, tmp)
        self.notices = Notices(self.clock)
        self.runner = HealthRunner(self.sup, self.clock, check=self._check, sleep=self.sleep,
                                   notify=self.notices.add)
        self.sup.observers.append(self.runner)

    def _backend(self, _spec: ProcessSpec) -> MemoryBackend:
        if self.backend is None:
            self.backend = MemoryBackend(self.sup.on_exit)
        return self.backend

    async def _check(self, probe: HealthProbe, inputs: ProbeInputs) -> ProbeResult:
        assert probe.url is not None
        self.checks.append((probe.url, self.clock.now))
        ok = self.ok.get(probe.url, True)
        return ProbeResult(ok, "" if ok else f"GET {probe.url}: HTTP 503")

    async def settle(self) -> None:
        for _ in range(6):
            await self.sup.reconcile()
            for _ in range(5):
                await asyncio.sleep(0)

    async def advance(self, seconds: float) -> None:
        end = self.clock.now + seconds
        await self.settle()
        while True:
            due = sorted((s for s in self.sleep.sleepers if s[0] <= end and not s[1].done()),
                         key=lambda s: s[0])
            if not due:
                break
            when, fut = due[0]
            self.sleep.sleepers.remove(due[0])
            self.clock.now = max(self.clock.now, when)
            fut.set_result(None)
            await self.settle()
        self.clock.now = end
        await self.settle()

    def st(self, pid: str) -> ProcessStatus:
        return self.sup.statuses[pid]


def probe(url: str, **kw: object) -> HealthProbe:
    return HealthProbe("http", url=url, **{"interval": 5.0, "retries": 2, **kw})  # type: ignore[arg-type]


def spec(name: str, *probes: HealthProbe, **kw: object) -> ProcessSpec:
    return ProcessSpec("w", name, command=("run", name), start_secs=0, health=probes,
                       **kw)  # type: ignore[arg-type]


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(scenario())


def test_probe_set_is_due_first_at_start_then_after_each_interval() -> None:
    ps = ProbeSet.begin((probe("a", interval=5.0), probe("b", interval=2.0)), 100.0)
    assert ps.due(100.0) == (0, 1)
    ps, _ = ps.record(0, ProbeResult(True), 100.0)
    ps, _ = ps.record(1, ProbeResult(True), 100.5)
    assert ps.next_due() == 102.5 and ps.due(103.0) == (1,)
    assert ps.health()[0].value == "healthy"


def test_healthy_then_unhealthy_after_retries_with_the_reason(tmp_path: Path) -> None:
    async def scenario() -> None:
        h = Harness(tmp_path)
        h.sup.set_desired({"w:api": spec("api", probe("http://x/health"))})
        await h.advance(0)
        assert h.st("w:api").health == "healthy"
        assert h.checks == [("http://x/health", 1000.0)]
        h.ok["http://x/health"] = False
        await h.advance(5)
        assert h.st("w:api").health == "healthy"  # one failure of retries=2
        assert h.runner.reason("w:api") == "http: GET http://x/health: HTTP 503"
        await h.advance(5)
        assert h.st("w:api").health == "unhealthy"
        assert h.st("w:api").state == State.RUNNING  # action mark: only marked
        assert [t for _, t in h.checks] == [1000.0, 1005.0, 1010.0]
        h.ok["http://x/health"] = True
        await h.advance(5)
        assert h.st("w:api").health == "healthy"

    run(scenario)


def test_restart_action_is_paced_by_the_interval_and_rechecks_first(tmp_path: Path) -> None:
    async def scenario() -> None:
        h = Harness(tmp_path)
        h.ok["u"] = False
        h.sup.set_desired({"w:api": spec("api", probe("u", retries=1, action="restart"))})
        await h.advance(0)
        assert h.backend is not None
        assert h.st("w:api").health == "unhealthy" and len(h.backend.spawned) == 1
        await h.advance(4.9)
        assert len(h.backend.spawned) == 1  # too young to be restarted yet
        await h.advance(0.1)
        assert [i for i, _ in h.backend.spawned] == ["w:api", "w:api"]
        # Checked again at 1005 (still failing: restart), then the new instance at once.
        assert [t for _, t in h.checks] == [1000.0, 1005.0, 1005.0]
        st = h.st("w:api")
        assert st.state == State.RUNNING and st.health == "unhealthy" and st.pid == 1001
        await h.advance(4.9)
        assert len(h.backend.spawned) == 2
        await h.advance(0.1)
        assert len(h.backend.spawned) == 3

    run(scenario)


def test_notify_action_tells_once_per_incident_and_leaves_the_process_alone(
        tmp_path: Path) -> None:
    async def scenario() -> None:
        h = Harness(tmp_path)
        h.sup.set_desired({"w:api": spec("api", probe("u", action="notify"))})
        await h.advance(0)
        pid = h.st("w:api").pid
        epoch = h.clock.wall() - h.clock.now  # notices carry wall-clock time
        h.ok["u"] = False
        await h.advance(10)  # two failures of retries=2: unhealthy at 1010
        assert h.notices.recent() == (Notice(epoch + 1010.0, "w:api", "http: GET u: HTTP 503"),)
        await h.advance(30)  # still failing: the same incident, no new notice
        assert len(h.notices.recent()) == 1
        st = h.st("w:api")
        assert st.state == State.RUNNING and st.pid == pid and st.health == "unhealthy"
        h.ok["u"] = True
        await h.advance(5)
        h.ok["u"] = False
        await h.advance(10)  # a new incident: told again
        assert [n.at - epoch for n in h.notices.recent()] == [1010.0, 1055.0]

    run(scenario)


def test_mark_action_marks_without_a_notice(tmp_path: Path) -> None:
    async def scenario() -> None:
        h = Harness(tmp_path)
        h.ok["u"] = False
        h.sup.set_desired({"w:api": spec("api", probe("u", action="mark"))})
        await h.advance(10)
        assert h.st("w:api").health == "unhealthy" and h.notices.recent() == ()

    run(scenario)


def test_a_slow_starter_that_recovers_before_the_interval_is_not_restarted(
        tmp_path: Path) -> None:
    async def scenario() -> None:
        h = Harness(tmp_path)
        h.ok["u"] = False
        h.sup.set_desired({"w:api": spec("api", probe("u", retries=1, action="restart"))})
        await h.advance(2)
        h.ok["u"] = True  # done booting
        await h.advance(30)
        assert h.backend is not None and len(h.backend.spawned) == 1
        assert h.st("w:api").health == "healthy"

    run(scenario)


def test_an_exit_cancels_the_probes_of_that_instance(tmp_path: Path) -> None:
    async def scenario() -> None:
        h = Harness(tmp_path)
        h.sup.set_desired({"w:api": spec("api", probe("u"), restart="never")})
        await h.advance(0)
        assert "w:api" in h.runner.tasks
        assert h.backend is not None
        h.backend.exit("w:api", ExitInfo(code=0))
        await h.advance(60)
        assert h.runner.tasks == {} and len(h.checks) == 1
        assert h.st("w:api").state == State.EXITED

    run(scenario)


def test_depends_on_healthy_waits_for_the_probe(tmp_path: Path) -> None:
    async def scenario() -> None:
        h = Harness(tmp_path)
        h.ok["db"] = False
        dep = Dependency("w:db", DependencyCondition.HEALTHY)
        h.sup.set_desired({"w:db": spec("db", probe("db", retries=3)),
                           "w:web": spec("web", depends_on=(dep,))})
        await h.advance(12)
        assert h.st("w:db").state == State.RUNNING
        assert "w:web" not in h.sup.handles
        h.ok["db"] = True
        await h.advance(5)
        assert h.st("w:db").health == "healthy"
        assert h.st("w:web").state == State.RUNNING

    run(scenario)


def test_close_cancels_every_task(tmp_path: Path) -> None:
    async def scenario() -> None:
        h = Harness(tmp_path)
        h.sup.set_desired({"w:a": spec("a", probe("a")), "w:b": spec("b", probe("b"))})
        await h.advance(0)
        tasks = list(h.runner.tasks.values())
        assert len(tasks) == 2
        await h.runner.close()
        assert all(t.cancelled() for t in tasks) and h.runner.tasks == {}

    run(scenario)


def test_a_task_that_loses_its_cancellation_still_ends(tmp_path: Path) -> None:
    """Python 3.11's wait_for can swallow a cancel; the daemon's shutdown hung on that once."""
    async def scenario() -> None:
        h = Harness(tmp_path)
        entered = asyncio.Event()

        async def stubborn(probe: HealthProbe, inputs: ProbeInputs) -> ProbeResult:
            entered.set()
            with contextlib.suppress(asyncio.CancelledError):  # lost, as in the bug
                await asyncio.sleep(3600)
            return ProbeResult(True)

        h.runner._check = stubborn
        h.sup.set_desired({"w:a": spec("a", probe("a"))})
        await h.settle()
        await entered.wait()
        [task] = h.runner.tasks.values()
        await asyncio.wait_for(h.runner.close(), 1.0)
        assert task.done() and not task.cancelled()

    run(scenario)
