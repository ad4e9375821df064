"""Quiet logs cost an idle daemon nothing, and the first write after a silence is seen at once.

Real files, a real inotify instance, the real rotator on a real event loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from wezparallel.runtime.logrotation import LogRotator, RotationSettings
from wezparallel.runtime.writealarm import WriteAlarm

FAST = RotationSettings(max_bytes=1_000_000, files=2, min_interval=0.05, max_interval=0.1,
                        quiet_interval=60.0)


def alarm_or_fail() -> WriteAlarm:
    alarm = WriteAlarm.open()
    assert alarm is not None, "no inotify on this Linux machine"
    return alarm


def test_the_alarm_rings_on_the_first_write_after_it_is_armed(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text("before\n")
    alarm = alarm_or_fail()

    async def scenario() -> list[bool]:
        alarm.arm([tmp_path])
        silent = await alarm.wait(0.2)
        with log.open("a") as f:
            f.write("now\n")
        rang = await alarm.wait(5.0)
        alarm.arm([tmp_path])  # what rang before is forgotten
        after_rearm = await alarm.wait(0.2)
        return [silent, rang, after_rearm]

    try:
        assert asyncio.run(scenario()) == [False, True, False]
    finally:
        alarm.close()


def test_the_alarm_sees_a_new_directory_appear_in_a_watched_one(tmp_path: Path) -> None:
    alarm = alarm_or_fail()

    async def scenario() -> bool:
        alarm.arm([tmp_path / "not-yet", tmp_path])  # the missing one is skipped
        (tmp_path / "not-yet").mkdir()
        return await alarm.wait(5.0)

    try:
        assert asyncio.run(scenario())
    finally:
        alarm.close()


def run_rotator(rotator: LogRotator, scenario: Callable[[], Awaitable[None]]) -> None:
    async def main() -> None:
        task = asyncio.create_task(rotator.run())
        try:
            await scenario()
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())


def two_logs(tmp_path: Path) -> list[Path]:
    logs = [tmp_path / "logs" / "ws" / "one.log", tmp_path / "logs" / "ws" / "two.log"]
    logs[0].parent.mkdir(parents=True)
    for log in logs:
        log.write_text("old output\n")
    return logs


@pytest.mark.parametrize("with_alarm", [True, False])
def test_logs_that_do_not_grow_are_not_polled(tmp_path: Path, with_alarm: bool) -> None:
    logs = two_logs(tmp_path)
    rotator = LogRotator(lambda: logs, FAST, time.monotonic,
                         alarm=WriteAlarm.open if with_alarm else lambda: None)

    async def idle() -> None:
        await asyncio.sleep(1.5)

    run_rotator(rotator, idle)
    if with_alarm:
        # the first check sees two logs it did not know (growth), the second that they are
        # quiet; then nothing until a write (the poller below makes about 15 in that time)
        assert rotator.checks <= 3
    else:
        assert rotator.checks >= 5  # without inotify it polls every max_interval


async def flood_until_rotated(target: Path) -> float:
    """Write 1.5 MB (over FAST's 1 MB limit) at once; seconds until the rotator rotated it."""
    start = time.monotonic()
    with target.open("ab") as f:
        f.write(b"x" * 1_500_000)
    while not target.with_name(target.name + ".1").exists():
        assert time.monotonic() - start < 10, "never rotated: the write went unseen"
        await asyncio.sleep(0.01)
    return time.monotonic() - start


@pytest.mark.parametrize("where", ["a log that was quiet", "a new workspace's directory"])
def test_the_first_write_after_a_silence_is_seen_at_once(tmp_path: Path, where: str) -> None:
    logs = two_logs(tmp_path)
    if where != "a log that was quiet":
        logs.append(tmp_path / "logs" / "new-ws" / "three.log")
    target = logs[-1]
    rotator = LogRotator(lambda: logs, FAST, time.monotonic)
    took: list[float] = []

    async def flood_after_silence() -> None:
        await asyncio.sleep(0.5)  # quiet: the rotator waits on its alarm (next look in 60 s)
        checks = rotator.checks
        target.parent.mkdir(exist_ok=True)
        took.append(await flood_until_rotated(target))
        assert checks <= 3  # it was waiting, not polling

    run_rotator(rotator, flood_after_silence)
    assert took[0] < 5.0  # at once, in practice tens of milliseconds; not the quiet minute
    assert target.stat().st_size < 1_000_000


def test_a_process_started_later_in_a_new_logs_root_is_seen_at_once(tmp_path: Path) -> None:
    """A daemon that started with nothing running (no log, not even the logs directory) and
    is quiet: the first process started later, in a workspace added later, rings the alarm."""
    root = tmp_path / "state" / "logs"
    (tmp_path / "state").mkdir()
    logs: list[Path] = []
    rotator = LogRotator(lambda: list(logs), FAST, time.monotonic, root=root)
    target = root / "later-ws" / "first.log"

    async def start_later() -> None:
        await asyncio.sleep(0.5)  # quiet, with nothing to watch but where logs will be
        target.parent.mkdir(parents=True)
        logs.append(target)  # the supervisor now knows the process
        await flood_until_rotated(target)

    run_rotator(rotator, start_later)
    assert target.stat().st_size < 1_000_000
