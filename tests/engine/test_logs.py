"""`logs` of many processes, followed without losing a line, and rotation that keeps its limit.

Real daemons and real chatty children; lines are numbered so a lost or repeated one shows."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support import retry_until, script
from wezparallel.runtime.logrotation import LogRotator, LogSize, RotationSettings, next_check

LINES = 20_000
CHATTY = (f"import sys, time\nfor i in range({LINES}):\n"
          "    sys.stdout.write(f'{i}\\n')\n    sys.stdout.flush()\n"
          "    if i % 10 == 0:\n        time.sleep(0.001)\ntime.sleep(600)\n")


def chatty_workspace() -> dict[str, str]:
    body = "workspace: w\nprocesses:\n"
    for name in ("a", "b", "c"):
        body += f"  {name}:\n    command: [{sys.executable}, -c, {json.dumps(CHATTY)}]\n"
        body += "    start_secs: 0\n"
    return {"w.yaml": body}


def test_following_a_workspace_loses_no_line(daemon_factory: Any) -> None:
    d = daemon_factory(chatty_workspace()).start()
    for name in "abc":
        d.wait_state(f"w:{name}", "RUNNING")
    # start following mid-flow: a gap between backlog and live lines would lose some
    log = d.state / "logs" / "w" / "c.log"
    retry_until(lambda: log.exists() and log.stat().st_size > 2000, 15, 0.005, "output")
    follower = subprocess.Popen(
        [script("wezparctl"), "--socket", str(d.socket), "logs", "w:*", "-n", "5", "-f",
         "--json"], stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    seen: dict[str, list[int]] = {"w:a": [], "w:b": [], "w:c": []}
    try:
        assert follower.stdout is not None
        while any(not v or v[-1] != LINES - 1 for v in seen.values()):
            item = json.loads(follower.stdout.readline())
            assert set(item) == {"id", "time", "line"}
            seen[item["id"]].append(int(item["line"]))
    finally:
        follower.terminate()
        follower.wait(timeout=10)
        if follower.stdout:
            follower.stdout.close()
    for pid, numbers in seen.items():
        first = numbers[0]
        assert numbers == list(range(first, LINES)), f"{pid}: a line lost or repeated"


def test_many_processes_are_prefixed_and_one_is_not(daemon_factory: Any) -> None:
    conf = {"p.yaml": "workspace: p\nprocesses:\n"
            "  one: {command: [sh, -c, 'echo from-one; exec sleep 600'], start_secs: 0}\n"
            "  two: {command: [sh, -c, 'echo from-two; exec sleep 600'], start_secs: 0}\n"}
    d = daemon_factory(conf).start()
    both = retry_until(lambda: (o := d.ctl("logs", "p", "-n", "1")).stdout.count("\n") == 2
                       and o, 10, 0.05, "a line from each")
    assert sorted(both.stdout.splitlines()) == ["p:one | from-one", "p:two | from-two"]
    plain = d.ctl("logs", "p", "-n", "1", "--no-prefix")
    assert sorted(plain.stdout.splitlines()) == ["from-one", "from-two"]
    assert d.ctl("logs", "p:one").stdout.splitlines() == ["from-one"]
    assert d.ctl("logs", "p:nope").returncode == 1


@pytest.mark.parametrize("now, before, elapsed, delay", [
    ({"x": LogSize(0, 0)}, {}, 1.0, 2.0),  # an empty new log: the slow pace
    ({"x": LogSize(4_000_000, 4_000_000)}, {}, 0.2, 0.2),  # new and already 4 MB: soon
    ({"x": LogSize(100, 100)}, {"x": LogSize(100, 100)}, 2.0, 2.0),  # idle
    ({"x": LogSize(5_000_000, 5_000_000)}, {"x": LogSize(0, 0)}, 5.0, 2.0),  # 1 MB/s: capped
    ({"x": LogSize(8_000_000, 8_000_000)}, {"x": LogSize(7_000_000, 7_000_000)}, 1.0, 1.0),
    ({"x": LogSize(0, 40_000_000)}, {"x": LogSize(0, 0)}, 2.0, 0.25),  # 20 MB/s, rotated
    ({"x": LogSize(9_999_999, 60_000_000)}, {"x": LogSize(0, 0)}, 1.0, 0.2),  # the floor
])
def test_the_next_size_check_comes_before_the_fastest_log_can_fill(
        now: dict[str, LogSize], before: dict[str, LogSize], elapsed: float,
        delay: float) -> None:
    s = RotationSettings(max_bytes=10_000_000, min_interval=0.2, max_interval=2.0)
    assert next_check(now, before, elapsed, s) == pytest.approx(delay)


WRITER = ("import os, sys, time\n"
          "fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND | os.O_CREAT)\n"
          "line = b'x' * 1023 + b'\\n'\nend = time.monotonic() + 3\n"
          "while time.monotonic() < end:\n    t = time.monotonic()\n"
          "    os.write(fd, line * 2048)\n    time.sleep(max(0, 0.1 - (time.monotonic() - t)))\n")


def test_rotation_holds_its_limit_under_a_20_mb_per_second_writer(tmp_path: Path) -> None:
    log = tmp_path / "fast.log"
    settings = RotationSettings(max_bytes=1_000_000, files=3)
    sizes: list[tuple[bool, int]] = []  # (a backup existed, live size), every 10 ms
    done = threading.Event()

    def watch_size() -> None:
        while not done.is_set():
            rotated = (tmp_path / "fast.log.1").exists()
            with contextlib.suppress(FileNotFoundError):
                sizes.append((rotated, log.stat().st_size))
            done.wait(0.01)

    async def scenario() -> None:
        rotator = LogRotator(lambda: [log], settings, time.monotonic)
        task = asyncio.create_task(rotator.run())
        writer = await asyncio.create_subprocess_exec(sys.executable, "-c", WRITER, str(log))
        await writer.wait()
        task.cancel()

    sampler = threading.Thread(target=watch_size)
    sampler.start()
    try:
        asyncio.run(scenario())
    finally:
        done.set()
        sampler.join()
    assert (tmp_path / "fast.log.1").exists() and (tmp_path / "fast.log.2").exists()
    assert not (tmp_path / "fast.log.3").exists()  # files=3: the live one and two backups
    first = max((size for rotated, size in sizes if not rotated), default=0)
    start = next(i for i, (rotated, _) in enumerate(sizes) if rotated)
    # from 0.2 s after the first backup appeared: that first copy of ~40 MB takes a while
    held = max((size for _, size in sizes[start + 20:]), default=0)
    # Seen within max_interval (2 s, 40 MB at this pace) of the first write; a fixed 30 s
    # interval would let it reach 600 MB. Once seen, checks come every 0.2 s: about 4 MB.
    # (Before the fix that counts a new log's growth from nothing, it reached 41 MB.)
    assert first < 45_000_000, f"the live log reached {first} bytes before the first rotation"
    assert held < 8_000_000, f"the live log reached {held} bytes once rotating"
