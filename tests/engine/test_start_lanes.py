"""Starts run beside the reconcile loop: a backend whose spawn hangs (a stopped tmux server)
holds up its own processes only. In-memory backends and a fake clock; the loop task is the
real one (`Supervisor.run`)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.engine.test_supervisor import spec
from wezparallel.backends.base import Handle
from wezparallel.backends.memory import MemoryBackend
from wezparallel.clock import FakeClock
from wezparallel.plan.lifecycle import ExitInfo, State
from wezparallel.runtime.supervisor import Supervisor
from wezparallel.spec.model import ProcessSpec, RestartPolicy


class HangingBackend(MemoryBackend):
    """Its spawns wait until `release` is set, like tmux calls to a stopped server."""

    name = "hanging"

    def __init__(self, *args: object) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.release = asyncio.Event()
        self.waiting = 0

    async def spawn(self, s: ProcessSpec, argv: tuple[str, ...], log_path: Path) -> Handle:
        self.waiting += 1
        await self.release.wait()
        self.waiting -= 1
        return await super().spawn(s, argv, log_path)


async def until(predicate: object, turns: int = 200) -> None:
    for _ in range(turns):
        if predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0)
    raise AssertionError("the loop never got there")


def test_a_hanging_backend_does_not_hold_up_another_backends_restart(tmp_path: Path) -> None:
    async def scenario() -> None:
        backends: dict[str, MemoryBackend] = {}
        clock = FakeClock()
        sup = Supervisor(lambda s: backends[s.name], clock, tmp_path)
        backends["fast"] = MemoryBackend(sup.on_exit)
        slow = backends["slow"] = HangingBackend(sup.on_exit)
        loop_task = asyncio.create_task(sup.run())
        sup.set_desired({"w:fast": spec("fast", restart=RestartPolicy.ALWAYS, start_secs=0),
                         "w:slow": spec("slow", start_secs=0)})
        await until(lambda: "w:fast" in backends["fast"].running and slow.waiting == 1)
        clock.advance(3600.0)  # up long enough for its restart to come at once
        backends["fast"].exit("w:fast", ExitInfo(code=1))
        await until(lambda: len(backends["fast"].spawned) == 2)  # restarted while slow hangs
        assert sup.statuses["w:fast"].state == State.RUNNING
        assert "w:slow" not in slow.running
        slow.release.set()
        await until(lambda: "w:slow" in slow.running)
        assert sup.statuses["w:slow"].state == State.RUNNING
        assert [i for i, _ in slow.spawned] == ["w:slow"]  # started once, not once per plan
        loop_task.cancel()

    asyncio.run(scenario())


def test_a_stop_asked_for_during_a_start_is_carried_out_after_it(tmp_path: Path) -> None:
    async def scenario() -> None:
        holder: list[HangingBackend] = []
        sup = Supervisor(lambda _s: holder[0], FakeClock(), tmp_path)
        slow = HangingBackend(sup.on_exit)
        holder.append(slow)
        loop_task = asyncio.create_task(sup.run())
        sup.set_desired({"w:a": spec("a", start_secs=0)})
        await until(lambda: slow.waiting == 1)
        sup.request(["w:a"], "stop")
        slow.release.set()
        await until(lambda: slow.spawned and sup.statuses["w:a"].state == State.STOPPED
                    and "w:a" not in slow.running)
        assert [i for i, _ in slow.spawned] == ["w:a"]
        assert not sup.statuses["w:a"].wanted
        done = asyncio.create_task(sup.shutdown(leave_running=False, timeout=5))
        await asyncio.wait_for(done, 5)
        loop_task.cancel()

    asyncio.run(scenario())


def test_a_start_that_raises_the_unexpected_is_a_failed_start_not_a_loop(
        tmp_path: Path) -> None:
    class Broken(MemoryBackend):
        async def spawn(self, s: ProcessSpec, argv: tuple[str, ...], log_path: Path) -> Handle:
            self.spawned.append((s.id, argv))
            raise ValueError("embedded null byte")

    async def scenario() -> None:
        holder: list[Broken] = []
        clock = FakeClock()
        sup = Supervisor(lambda _s: holder[0], clock, tmp_path)
        holder.append(Broken(sup.on_exit))
        loop_task = asyncio.create_task(sup.run())
        sup.set_desired({"w:a": spec("a", start_secs=0)})
        await until(lambda: (st := sup.statuses.get("w:a")) is not None
                    and st.state == State.BACKOFF)
        for _ in range(50):
            await asyncio.sleep(0)
        assert len(holder[0].spawned) == 1  # waits for its backoff, no hot loop
        assert "embedded null byte" in (sup.statuses["w:a"].error or "")
        assert not loop_task.done()
        loop_task.cancel()

    asyncio.run(scenario())


def test_a_stop_between_the_plan_and_its_start_is_kept(tmp_path: Path) -> None:
    """The start task runs after the loop planned it: a stop that comes in between wins."""
    async def scenario() -> None:
        holder: list[MemoryBackend] = []
        sup = Supervisor(lambda _s: holder[0], FakeClock(), tmp_path)
        holder.append(MemoryBackend(sup.on_exit))
        sup.set_desired({"w:a": spec("a", start_secs=0)})
        await sup._reconcile(wait_for_starts=False)  # planned and launched, not yet run
        assert sup.starting("w:a")
        sup.request(["w:a"], "stop")
        await until(lambda: not sup.starting("w:a"))
        await sup.reconcile()
        assert holder[0].spawned == [] and sup.statuses["w:a"].state == State.STOPPED
        assert not sup.statuses["w:a"].wanted

    asyncio.run(scenario())
