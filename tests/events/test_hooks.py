"""`on:` hooks run as real processes: stdin and environment, failures, timeouts, reloads."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from tests.support import pid_alive, retry_until
from wezparallel.events.hooks import HookRunner
from wezparallel.events.model import Event
from wezparallel.events.settings import EventSettings
from wezparallel.spec.model import EventHook, ProcessSpec

FATAL = Event(9, 1.0, "state", "w:a", {"from": "BACKOFF", "to": "FATAL", "crashed": False})


def _runner(hooks: tuple[EventHook, ...], cwd: Path, notices: list[tuple[str, str]],
            **settings: float) -> HookRunner:
    spec = ProcessSpec("w", "a", command=("true",), cwd=str(cwd), on=hooks)
    return HookRunner(lambda pid: spec if pid == "w:a" else None,
                      lambda pid, msg: notices.append((pid, msg)),
                      EventSettings(**settings), environ={"PATH": os.environ["PATH"]})


async def _drain(runner: HookRunner, count: int) -> None:
    for _ in range(500):
        if runner.finished >= count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{count} hooks did not finish")


def test_a_hook_gets_the_event_on_stdin_and_its_names_in_the_environment(tmp_path: Path) -> None:
    script = ("import json, os, sys; json.dump({'event': json.load(sys.stdin), "
              "'name': os.environ['WEZPARALLEL_EVENT'], "
              "'process': os.environ['WEZPARALLEL_PROCESS'], 'cwd': os.getcwd()}, "
              "open('out.json', 'w'))")
    notices: list[tuple[str, str]] = []

    async def scenario() -> None:
        runner = _runner((EventHook("fatal", (sys.executable, "-c", script)),
                          EventHook("running", ("/bin/false",))), tmp_path, notices)
        runner.on_event(FATAL)
        await _drain(runner, 1)
        assert runner.finished == 1  # the `running` hook did not fire on a FATAL event

    asyncio.run(scenario())
    out = json.loads((tmp_path / "out.json").read_text())
    assert out == {"event": FATAL.to_json(), "name": "fatal", "process": "w:a",
                   "cwd": str(tmp_path)}
    assert notices == []


def test_failures_become_notices(tmp_path: Path) -> None:
    notices: list[tuple[str, str]] = []

    async def scenario() -> None:
        runner = _runner((EventHook("fatal", ("/bin/sh", "-c", "echo no luck >&2; exit 3")),
                          EventHook("fatal", ("/no/such/hook",))), tmp_path, notices)
        runner.on_event(FATAL)
        await _drain(runner, 2)

    asyncio.run(scenario())
    assert sorted(notices) == [
        ("w:a", "on fatal hook could not start '/no/such/hook': No such file or directory"),
        ("w:a", "on fatal hook failed (exit 3): no luck")]


def test_a_hook_that_hangs_is_killed_with_its_whole_process_group(tmp_path: Path) -> None:
    notices: list[tuple[str, str]] = []
    child = tmp_path / "child.pid"

    async def scenario() -> None:
        runner = _runner((EventHook("fatal", (
            "/bin/sh", "-c", f"sleep 600 & echo $! > {child}; wait")),), tmp_path, notices,
            hook_timeout=0.5)
        runner.on_event(FATAL)
        await _drain(runner, 1)

    asyncio.run(scenario())
    assert notices == [("w:a", "on fatal hook timed out after 0.5 s and was killed")]
    grandchild = int(child.read_text())
    retry_until(lambda: not pid_alive(grandchild), 5, 0.05, "the hook's child to be gone")


def test_hooks_run_a_few_at_a_time(tmp_path: Path) -> None:
    notices: list[tuple[str, str]] = []
    log = tmp_path / "log"
    hook = ("/bin/sh", "-c", f"echo start >> {log}; sleep 0.3; echo end >> {log}")

    async def scenario() -> None:
        runner = _runner(tuple(EventHook("fatal", hook) for _ in range(4)), tmp_path, notices,
                         hook_concurrency=2)
        runner.on_event(FATAL)
        await _drain(runner, 4)

    asyncio.run(scenario())
    lines = log.read_text().split()
    assert lines.count("start") == 4 and notices == []
    running, most = 0, 0
    for line in lines:
        running += 1 if line == "start" else -1
        most = max(most, running)
    assert most == 2
