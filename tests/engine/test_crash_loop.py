"""A crash loop through a real daemon (issue 11.1): a program that dies two seconds after every
start, longer than its start_secs, is restarted with growing delays and ends FATAL; `status`
then exits non-zero and the daemon logs the FATAL as an error."""

from __future__ import annotations

import time
from typing import Any

from tests.support import retry_until
from wezparallel.ipc.client import Client

CRASHER = """
workspace: loop
processes:
  crasher:
    command: [sh, -c, "sleep 2; exit 3"]
    start_secs: 1
    max_restarts: 4
    backoff: {initial: 250ms, factor: 2}
"""
PLANNED = [0.25, 0.5, 1.0]  # initial * factor^(n-1) after short runs 1..3; the 4th is FATAL


def observe(socket: str, pid: str, timeout: float) -> list[tuple[str, float]]:
    """Every state the process passes through, with the daemon's `since` for each, until
    FATAL. Polls the socket directly: a BACKOFF of 250 ms is too short to catch by starting
    `wezparctl` over and over on a loaded machine."""
    seen: list[tuple[str, float]] = []
    deadline = time.monotonic() + timeout
    with Client(socket) as client:
        while time.monotonic() < deadline:
            (p,) = [x for x in client.call("status")["processes"] if x["id"] == pid]
            if not seen or seen[-1][0] != p["state"]:
                seen.append((p["state"], p["since"]))
            if p["state"] == "FATAL":
                return seen
            time.sleep(0.01)
    raise AssertionError(f"{pid} never became FATAL; seen {seen}")


def test_a_process_dying_soon_after_each_start_backs_off_growing_then_ends_fatal(
        daemon_factory: Any) -> None:
    d = daemon_factory({"loop.yaml": CRASHER}).start()
    seen = observe(str(d.socket), "loop:crasher", timeout=60)
    states = [s for s, _ in seen]
    assert "EXITED" not in states  # never restarted at once
    # each restart waited in BACKOFF at least as long as planned, and the waits grew
    waits = [seen[i + 1][1] - since for i, (state, since) in enumerate(seen[:-1])
             if state == "BACKOFF" and seen[i + 1][0] == "STARTING"]
    assert len(waits) == len(PLANNED), seen
    for wait, planned in zip(waits, PLANNED, strict=True):
        assert wait >= planned - 0.01, (waits, seen)
    assert waits[-1] > waits[0] + 0.5, waits
    assert states.count("RUNNING") == 4  # each run reached start_secs before it died

    fatal = d.process("loop:crasher")
    assert fatal["error"] == ("exited 2s after starting (exit 3); gave up after 4 short runs "
                              "in a row (each under backoff.reset_after, 1m)")
    assert fatal["restarts"] == 3 and fatal["pid"] is None
    out = d.ctl("status")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "FATAL" in out.stdout and "gave up after 4 short runs" in out.stdout
    log = retry_until(lambda: "-> FATAL" in d.daemon_log() and d.daemon_log(), 5,
                      what="the FATAL in the daemon log")
    (line,) = [x for x in log.splitlines() if "-> FATAL" in x]
    assert " ERROR " in line and "loop:crasher exited (exit 3)" in line, line
    retries = [x for x in log.splitlines() if "-> BACKOFF" in x]
    assert [x.rsplit(" in ", 1)[1] for x in retries] == ["0.25s", "0.5s", "1s"], retries
