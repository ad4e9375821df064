"""Nothing a program starts outlives it, through a real daemon, for both process backends.

Each program leaves a background job, a double fork into a session of its own and a `setsid`
child behind. All of them run a symlink to `sleep` inside the test's directory, so every one
of them is found by its command line, wherever it was re-parented to.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import DaemonProcess, retry_until

LEAVES = ("{nap} 600 & (setsid {nap} 601 &) & setsid {nap} 602 & "
          "sleep 0.3; echo left; {end}")


def naps(root: Path) -> list[int]:
    needle = str(root / "nap").encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "cmdline").read_bytes().startswith(needle) \
                        and ") Z" not in (entry / "stat").read_text():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def leaver(d: DaemonProcess, backend: str, end: str, restart: str = "never") -> None:
    nap = d.root / "nap"
    nap.symlink_to("/bin/sleep")
    conf = {"workspace": "w", "backend": backend, "processes": {"leaver": {
        "command": ["sh", "-c", LEAVES.format(nap=nap, end=end)], "start_secs": 0,
        "restart": restart}}}
    (d.conf / "w.yaml").write_text(json.dumps(conf))


@pytest.mark.parametrize("backend", ["subprocess", "tmux"])
def test_a_leader_that_exits_takes_what_it_left_with_it(
        daemon_factory: Callable[..., DaemonProcess], backend: str) -> None:
    d = daemon_factory(backend=backend)
    leaver(d, backend, "exit 3")
    d.start()
    p = d.wait_state("w:leaver", "EXITED", 20)
    assert p["exit_code"] == 3, p
    retry_until(lambda: not naps(d.root), 5, 0.05, "the leftovers to be killed")
    assert d.ctl("shutdown").returncode == 0
    assert d.proc is not None and d.proc.wait(timeout=60) == 0
    assert naps(d.root) == []


@pytest.mark.parametrize("backend", ["subprocess", "tmux"])
def test_restarts_leave_no_orphan_behind(
        daemon_factory: Callable[..., DaemonProcess], backend: str) -> None:
    """One orphan per restart was the rule: after three restarts, only the current
    instance's three descendants may be alive, and none after `stop`."""
    d = daemon_factory(backend=backend)
    leaver(d, backend, "exec sleep 600", restart="always")
    d.start()
    for _ in range(3):
        first = d.wait_state("w:leaver", "RUNNING")["pid"]
        retry_until(lambda: len(naps(d.root)) == 3, 10, 0.05, "the three naps")
        assert d.ctl("restart", "w:leaver").returncode == 0
        retry_until(lambda first=first: d.process("w:leaver")["pid"] not in (None, first),
                    20, 0.05, "a new instance")
    retry_until(lambda: len(naps(d.root)) == 3, 10, 0.05, "only the current three naps")
    assert d.ctl("stop", "w:leaver").returncode == 0
    retry_until(lambda: not naps(d.root), 10, 0.05, "no nap after stop")
