"""`ScreenPoller` in a supervisor: agents without hooks get their activity from scripted pane
texts, on a fake clock with a fake sleep (no waiting). The real pane and daemon end to end is
`test_screen_activity_in_a_tmux_pane` at the bottom."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Callable, Coroutine
from dataclasses import replace
from pathlib import Path
from typing import Any

from tests.support import DaemonProcess, retry_until
from wezparallel.agents.activity import AgentActivity
from wezparallel.backends.base import ExitCallback, Handle
from wezparallel.backends.memory import MemoryBackend
from wezparallel.clock import FakeClock
from wezparallel.errors import BackendError
from wezparallel.plan.lifecycle import ExitInfo
from wezparallel.runtime.agents import AgentTracker
from wezparallel.runtime.launch import Launcher
from wezparallel.runtime.screen import ScreenPoller
from wezparallel.runtime.supervisor import Supervisor
from wezparallel.spec.model import ClaudeSpec, ProcessSpec, RestartPolicy

A = AgentActivity
STUB = Path(__file__).resolve().parents[1] / "fakes" / "claude_stub.py"
WELCOME = "✻ Welcome to Claude Code!"
IDLE = "✻ Welcome to Claude Code!\n> \n? for shortcuts"
BUSY = "> fix it\n✻ Pondering… (esc to interrupt)"
ASK = "> fix it\nDo you want to proceed?\n❯ 1. Yes\n  2. No"


def agent(name: str = "agent", hooks: bool = False) -> ProcessSpec:
    return ProcessSpec("ws", name, claude=ClaudeSpec(binary=sys.executable, hooks=hooks),
                       start_secs=0)


class PaneMemory(MemoryBackend):
    """The in-memory backend with panes whose text the test scripts."""

    name = "panes"

    def __init__(self, on_exit: ExitCallback, clock: FakeClock) -> None:
        super().__init__(on_exit)
        self.clock = clock
        self.screen: dict[str, str] = {}
        self.captures: list[tuple[str, float]] = []
        self.broken: set[str] = set()

    async def spawn(self, spec: ProcessSpec, argv: tuple[str, ...], log_path: Path) -> Handle:
        handle = replace(await super().spawn(spec, argv, log_path), pane=f"%{spec.name}")
        self.running[spec.id] = handle
        return handle

    def capture(self, handle: Handle, lines: int) -> str:
        assert handle.pane == f"%{handle.id.partition(':')[2]}" and lines == 40
        self.captures.append((handle.id, self.clock.now))
        if handle.id in self.broken:
            raise BackendError("tmux", ["capture-pane"], 1, "can't find pane")
        return self.screen.get(handle.id, "")


class FakeSleep:
    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.sleepers: list[tuple[float, asyncio.Future[None]]] = []

    async def __call__(self, delay: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.sleepers.append((self.clock.now + delay, fut))
        await fut


class Harness:
    def __init__(self, tmp: Path, *, headless: bool = False,
                 hook_socket: Path | None = None) -> None:
        self.clock = FakeClock()
        self.sleep = FakeSleep(self.clock)
        self.tmp = tmp
        self.headless = headless
        self.backend: MemoryBackend | None = None
        self.sup = Supervisor(self._backend, self.clock, tmp,
                              launcher=Launcher(tmp, hook_socket, {"PATH": "/usr/bin"}))
        self.tracker = AgentTracker(self.clock)
        self.poller = ScreenPoller(self.sup, self.tracker, self.clock, sleep=self.sleep)
        self.sup.observers += [self.tracker, self.poller]

    @property
    def panes(self) -> PaneMemory:
        assert isinstance(self.backend, PaneMemory)
        return self.backend

    def _backend(self, _spec: ProcessSpec) -> MemoryBackend:
        if self.backend is None:
            self.backend = MemoryBackend(self.sup.on_exit) if self.headless \
                else PaneMemory(self.sup.on_exit, self.clock)
        return self.backend

    def activity(self, pid: str = "ws:agent") -> AgentActivity | None:
        act = self.tracker.get(pid)
        return act.current if act else None

    def history(self, pid: str = "ws:agent") -> list[tuple[AgentActivity, float]]:
        act = self.tracker.get(pid)
        assert act is not None
        start = act.history[0].since
        return [(c.activity, c.since - start) for c in act.history]

    async def settle(self) -> None:
        for _ in range(4):
            await self.sup.reconcile()
            for _ in range(5):
                await asyncio.sleep(0)

    async def advance(self, seconds: float) -> None:
        """Move the clock, waking each sleeper at its own time, in order."""
        end = self.clock.now + seconds
        await self.settle()
        while True:
            due = sorted((s for s in self.sleep.sleepers if s[0] <= end and not s[1].done()),
                         key=lambda s: s[0])
            if not due:
                break
            self.sleep.sleepers.remove(due[0])
            self.clock.now = max(self.clock.now, due[0][0])
            due[0][1].set_result(None)
            await self.settle()
        self.clock.now = end
        await self.settle()

    async def close(self) -> None:
        await self.poller.close()


def run(tmp: Path, scenario: Callable[[Harness], Coroutine[Any, Any, None]],
        **kwargs: Any) -> None:
    async def main() -> None:
        h = Harness(tmp, **kwargs)
        try:
            await scenario(h)
        finally:
            await h.close()
    asyncio.run(main())


def test_screen_texts_drive_the_activity_with_a_debounced_idle(tmp_path: Path) -> None:
    async def scenario(h: Harness) -> None:
        h.sup.set_desired({"ws:agent": agent()})
        await h.settle()
        assert h.activity() == A.STARTING
        h.panes.screen["ws:agent"] = WELCOME
        await h.advance(2)  # first look: nothing recognisable yet
        h.panes.screen["ws:agent"] = IDLE
        await h.advance(4)  # idle-looking since t=4, but only for 2 s: no idle yet
        assert h.activity() == A.STARTING
        await h.advance(2)  # unchanged for 4 s >= settle 3 s
        assert h.activity() == A.IDLE
        h.panes.screen["ws:agent"] = BUSY
        await h.advance(2)
        assert h.activity() == A.BUSY
        h.panes.screen["ws:agent"] = IDLE  # a moment between two tool calls
        await h.advance(2)
        h.panes.screen["ws:agent"] = BUSY + "\n● Read(file)"
        await h.advance(2)
        h.panes.screen["ws:agent"] = ASK
        await h.advance(2)
        assert h.activity() == A.WAITING
        assert h.history() == [(A.STARTING, 0), (A.IDLE, 8), (A.BUSY, 10), (A.WAITING, 16)]
        assert [t - 1000 for _, t in h.panes.captures] == [2, 4, 6, 8, 10, 12, 14, 16]

    run(tmp_path, scenario)


def test_an_exit_ends_the_polling(tmp_path: Path) -> None:
    async def scenario(h: Harness) -> None:
        h.sup.set_desired({"ws:agent": replace(agent(), restart=RestartPolicy.NEVER)})
        await h.settle()
        h.panes.screen["ws:agent"] = BUSY
        await h.advance(4)
        assert h.activity() == A.BUSY
        h.panes.exit("ws:agent", ExitInfo(code=0))
        await h.settle()
        assert h.activity() == A.EXITED and h.poller.tasks == {}
        looks = len(h.panes.captures)
        h.panes.screen["ws:agent"] = ASK
        await h.advance(10)
        assert len(h.panes.captures) == looks and h.activity() == A.EXITED

    run(tmp_path, scenario)


def test_a_restart_starts_over_with_one_poller(tmp_path: Path) -> None:
    async def scenario(h: Harness) -> None:
        h.sup.set_desired({"ws:agent": agent()})
        await h.settle()
        h.panes.screen["ws:agent"] = BUSY
        await h.advance(4)
        h.panes.exit("ws:agent", ExitInfo(code=1))  # on-failure, after a short run:
        await h.advance(0.5)  # restarted after the first backoff delay
        assert h.sup.statuses["ws:agent"].restarts == 1
        assert h.history() == [(A.STARTING, 0)]  # the new instance starts over
        looks = len(h.panes.captures)
        h.panes.screen["ws:agent"] = ASK
        await h.advance(2)
        assert len(h.panes.captures) == looks + 1  # the old instance's task looks no more
        assert h.activity() == A.WAITING and list(h.poller.tasks) == ["ws:agent"]

    run(tmp_path, scenario)


def test_a_capture_that_fails_is_skipped(tmp_path: Path) -> None:
    async def scenario(h: Harness) -> None:
        h.sup.set_desired({"ws:agent": agent()})
        await h.settle()
        h.panes.screen["ws:agent"] = BUSY
        h.panes.broken.add("ws:agent")
        await h.advance(4)
        assert h.activity() == A.STARTING and len(h.panes.captures) == 2
        h.panes.broken.clear()
        await h.advance(2)
        assert h.activity() == A.BUSY

    run(tmp_path, scenario)


def test_only_hookless_agents_in_panes_are_watched(tmp_path: Path) -> None:
    async def scenario(h: Harness) -> None:
        plain = ProcessSpec("ws", "server", command=(sys.executable, "-V"), start_secs=0)
        h.sup.set_desired({"ws:agent": agent(hooks=True), "ws:server": plain})
        await h.settle()
        h.panes.screen.update({"ws:agent": BUSY, "ws:server": BUSY})
        await h.advance(10)
        assert h.panes.captures == [] and h.poller.tasks == {}
        assert h.activity("ws:server") is None
        # hooks report to us: the tracker follows them, and a screen verdict is ignored
        assert h.activity("ws:agent") == A.STARTING
        assert h.tracker.on_screen("ws:agent", A.BUSY) is None

    run(tmp_path, scenario, hook_socket=tmp_path / "wp.sock")


def test_a_headless_agent_has_no_screen_and_no_activity(tmp_path: Path) -> None:
    async def scenario(h: Harness) -> None:
        h.sup.set_desired({"ws:agent": agent()})
        await h.settle()
        await h.advance(10)
        assert h.poller.tasks == {} and h.activity() is None
        assert h.sup.statuses["ws:agent"].state.value == "RUNNING"

    run(tmp_path, scenario, headless=True)


def test_an_adopted_hookless_agent_is_watched(tmp_path: Path) -> None:
    async def scenario(h: Harness) -> None:
        spec = agent()
        h.sup.set_desired({"ws:agent": spec})
        backend = h._backend(spec)
        backend.adoptable.add(77)
        handle = Handle("ws:agent", 77, "panes", pane="%agent")
        backend.running["ws:agent"] = handle
        assert h.sup.adopt(backend, handle, wanted=True, restarts=0, spec_matches=True)
        h.panes.screen["ws:agent"] = ASK
        await h.advance(2)
        assert h.activity() == A.WAITING
        assert backend.spawned == []

    run(tmp_path, scenario)


def test_screen_activity_in_a_tmux_pane(daemon_factory: Callable[..., DaemonProcess]) -> None:
    """A real daemon, the stand-in CLI in a real tmux pane, no hooks: starting, then idle once
    its prompt has stayed on screen, then waiting when it asks for permission."""
    d = daemon_factory(backend="tmux")
    binary = d.root / "claude"
    binary.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{STUB}" "$@"\n')
    binary.chmod(0o755)
    spec = {"claude": {"binary": str(binary), "hooks": False}, "start_secs": 0,
            "cwd": str(d.root)}
    (d.conf / "ws.yaml").write_text(
        f"workspace: ws\nbackend: tmux\nprocesses:\n  agent: {json.dumps(spec)}\n")
    try:
        d.start()

        def activity(want: str) -> dict[str, Any] | None:
            p = d.process("ws:agent")
            return p if p["activity"] == want else None
        idle = retry_until(lambda: activity("idle"), 30, 0.2, "idle from the screen")
        assert idle["state"] == "RUNNING" and idle["backend"] == "tmux"
        assert d.ctl("send", "ws:agent", "ask first").returncode == 0
        out = d.ctl("wait", "ws:agent", "--until", "waiting", "--timeout", "30")
        assert out.returncode == 0, out.stdout + out.stderr  # `wait` works from the screen too
        waiting = retry_until(lambda: activity("waiting"), 30, 0.2, "waiting from the screen")
        assert waiting["activity_since"] > idle["activity_since"]
    finally:
        d.stop()
        subprocess.run(["tmux", "-S", str(d.state / "tmux.sock"), "kill-server"],
                       capture_output=True, timeout=30)
