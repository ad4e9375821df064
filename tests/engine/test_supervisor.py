"""The reconcile loop with a fake clock and the in-memory backend: exact, no waiting."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

import pytest

from wezparallel.backends.base import Handle
from wezparallel.backends.memory import MemoryBackend
from wezparallel.clock import FakeClock
from wezparallel.plan.lifecycle import ExitInfo, State
from wezparallel.runtime.persist import Persistence
from wezparallel.runtime.supervisor import Supervisor
from wezparallel.spec.model import Backoff, ProcessSpec, RestartPolicy


def spec(name: str, **kw: object) -> ProcessSpec:
    base: dict[str, object] = {"workspace": "w", "name": name, "command": ("run", name),
                               "start_secs": 1.0, "backoff": Backoff(1.0, 8.0, 2.0)}
    base.update(kw)
    return ProcessSpec(**base)  # type: ignore[arg-type]


class Harness:
    def __init__(self, tmp: Path) -> None:
        self.clock = FakeClock()
        self.backend: MemoryBackend | None = None
        self.sup = Supervisor(self._backend, self.clock, tmp)

    def _backend(self, _spec: ProcessSpec) -> MemoryBackend:
        if self.backend is None:
            self.backend = MemoryBackend(self.sup.on_exit)
        return self.backend

    async def settle(self) -> None:
        """Reconcile and let stop tasks run, until nothing moves (no time passes)."""
        for _ in range(5):
            await self.sup.reconcile()
            await asyncio.sleep(0)

    def state(self, pid: str) -> State:
        return self.sup.statuses[pid].state


def run(coro_fn):
    asyncio.run(coro_fn())


def test_crash_after_running_restarts_at_once_then_backoff_grows(tmp_path: Path) -> None:
    async def scenario() -> None:
        h = Harness(tmp_path)
        h.sup.set_desired({"w:a": spec("a", restart=RestartPolicy.ALWAYS)})
        await h.settle()
        assert h.state("w:a") == State.STARTING
        h.clock.advance(1.0)
        await h.settle()
        assert h.state("w:a") == State.RUNNING
        assert h.backend is not None
        h.clock.advance(59.0)  # a run that lasted backoff.reset_after
        h.backend.exit("w:a", ExitInfo(code=0))
        await h.settle()  # no delay on the first restart after a run that lasted
        assert h.state("w:a") == State.STARTING and h.sup.statuses["w:a"].restarts == 1
        h.backend.exit("w:a", ExitInfo(code=1))  # dies before start_secs: a failed start
        await h.settle()
        st = h.sup.statuses["w:a"]
        assert st.state == State.BACKOFF and st.retry_at == h.clock.now + 1.0
        h.clock.advance(0.5)
        await h.settle()
        assert h.state("w:a") == State.BACKOFF  # not yet due
        h.clock.advance(0.5)
        await h.settle()
        assert h.state("w:a") == State.STARTING
        h.backend.exit("w:a", ExitInfo(code=1))
        await h.settle()
        assert h.sup.statuses["w:a"].retry_at == h.clock.now + 2.0  # 1 s, then 2 s
        assert [i for i, _ in h.backend.spawned] == ["w:a"] * 3

    run(scenario)


def test_permanent_spawn_error_is_fatal_without_a_loop(tmp_path: Path) -> None:
    async def scenario() -> None:
        h = Harness(tmp_path)
        h._backend(spec("a")).fail_next["w:a"] = "w:a: no such program 'nope'"
        h.sup.set_desired({"w:a": spec("a")})
        await h.settle()
        st = h.sup.statuses["w:a"]
        assert st.state == State.FATAL and "no such program" in (st.error or "")
        h.clock.advance(100)
        await h.settle()
        assert h.backend is not None and h.backend.spawned == []

    run(scenario)


def test_user_stop_is_not_undone_until_the_user_starts_again(tmp_path: Path) -> None:
    async def scenario() -> None:
        h = Harness(tmp_path)
        h.sup.set_desired({"w:a": spec("a", restart=RestartPolicy.ALWAYS)})
        await h.settle()
        h.sup.request(["w:a"], "stop")
        await h.settle()
        assert h.state("w:a") == State.STOPPED
        h.clock.advance(60)
        await h.settle()
        assert h.state("w:a") == State.STOPPED
        assert h.backend is not None and len(h.backend.spawned) == 1
        h.sup.request(["w:a"], "start")
        await h.settle()
        assert h.state("w:a") == State.STARTING and len(h.backend.spawned) == 2

    run(scenario)


def test_dependents_stop_before_their_dependency(tmp_path: Path) -> None:
    async def scenario() -> None:
        h = Harness(tmp_path)
        from wezparallel.spec.model import Dependency

        db = spec("db", start_secs=0)
        api = spec("api", start_secs=0, depends_on=(Dependency("w:db"),))
        h.sup.set_desired({"w:db": db, "w:api": api})
        await h.settle()
        assert h.backend is not None
        assert [i for i, _ in h.backend.spawned] == ["w:db", "w:api"]
        h.sup.set_desired({})
        await h.settle()
        stops = [i for i, _ in h.backend.signals]
        assert stops == ["w:api", "w:db"]
        assert h.sup.statuses == {}

    run(scenario)


def test_tmux_socket_stays_within_unix_socket_limits(tmp_path: Path) -> None:
    from wezparallel.runtime.registry import tmux_socket

    short = tmux_socket(tmp_path)
    assert short == tmp_path / "tmux.sock"
    deep = tmp_path / ("x" * 60) / ("y" * 60)
    long_one = tmux_socket(deep)
    assert len(str(long_one)) < 100 and long_one.parent.stat().st_mode & 0o777 == 0o700
    assert tmux_socket(deep) == long_one != tmux_socket(deep / "z")


class RefusingBackend(MemoryBackend):
    """Raises what no backend is supposed to raise (Popen's ValueError for a NUL)."""

    async def spawn(self, spec: ProcessSpec, argv: tuple[str, ...], log_path: Path):  # type: ignore[no-untyped-def]
        if spec.name == "bad":
            raise ValueError("embedded null byte")
        return await super().spawn(spec, argv, log_path)


def test_an_unexpected_spawn_error_is_that_process_s_failed_start(tmp_path: Path) -> None:
    """Issue 16.1: the ValueError escaped `_start` and ended the loop, silently."""
    async def scenario() -> None:
        h = Harness(tmp_path)
        h.backend = RefusingBackend(h.sup.on_exit)
        h.sup.set_desired({"w:bad": spec("bad"), "w:good": spec("good")})
        await h.settle()
        bad = h.sup.statuses["w:bad"]
        assert bad.state in (State.STARTING, State.BACKOFF)
        assert bad.error is not None and "ValueError: embedded null byte" in bad.error
        assert h.state("w:good") == State.STARTING  # the loop went on past it
        h.clock.advance(1.0)
        await h.settle()
        assert h.state("w:good") == State.RUNNING
    run(scenario)


def test_giving_up_is_logged_as_an_error_and_backing_off_as_a_warning(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """FATAL needs a person (issue 11.11): ERROR, with the reason; BACKOFF says when next."""
    async def scenario() -> None:
        h = Harness(tmp_path)
        h.sup.set_desired({"w:a": spec("a", max_restarts=2)})
        await h.settle()
        assert h.backend is not None
        for _ in range(2):
            h.clock.advance(0.2)
            h.backend.exit("w:a", ExitInfo(code=4))  # dies before start_secs
            await h.settle()
            h.clock.advance(1.0)
            await h.settle()
        assert h.state("w:a") == State.FATAL

    with caplog.at_level(logging.INFO, logger="wezparallel.runtime.supervisor"):
        run(scenario)
    exits = [(r.levelname, r.getMessage()) for r in caplog.records if "exited" in r.getMessage()]
    assert exits == [
        ("WARNING", "w:a exited (exit 4) -> BACKOFF: exited too quickly (exit 4); retry 1 in 1s"),
        ("ERROR", "w:a exited (exit 4) -> FATAL: exited too quickly (exit 4); gave up after 2 "
                  "short runs in a row (each under backoff.reset_after, 1m)"),
    ]


def test_a_pass_that_only_begins_starts_writes_no_state_before_the_first_fork(
        tmp_path: Path) -> None:
    """The write-ahead journal covers each fork; the state file is written once the starts
    have run, not also before them (a cold start waited for that write and its fsyncs)."""
    order: list[str] = []

    class Recorded(Persistence):
        def save(self, *args: Any, **kwargs: Any) -> None:
            order.append("save")
            super().save(*args, **kwargs)

    class Backend(MemoryBackend):
        async def spawn(self, spec: ProcessSpec, argv: tuple[str, ...],
                        log_path: Path) -> Handle:
            order.append("spawn")
            return await super().spawn(spec, argv, log_path)

    async def scenario() -> None:
        clock = FakeClock()
        backend: list[Backend] = []
        persistence = Recorded(tmp_path / "state.json", clock)

        def backend_for(_spec: ProcessSpec) -> Backend:
            if not backend:
                backend.append(Backend(sup.on_exit))
            return backend[0]

        sup = Supervisor(backend_for, clock, tmp_path, persistence)
        loop = asyncio.create_task(sup.run())  # the daemon's loop, which does not wait for
        sup.set_desired({f"w:{n}": spec(n) for n in ("a", "b", "c")})  # the starts it begins
        for _ in range(100):  # loop iterations, no time passes
            if "spawn" in order and order[-1] == "save":
                break
            await asyncio.sleep(0)
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop
        assert order == ["spawn", "spawn", "spawn", "save"]
        saved = persistence.load()
        assert sorted(saved) == ["w:a", "w:b", "w:c"]
        assert all(s.handle is not None for s in saved.values())
        persistence.close()

    run(scenario)
