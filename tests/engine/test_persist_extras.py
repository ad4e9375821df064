"""What `Persistence` keeps beside handles so a restarted daemon changes nothing visible:
wall-clock times, health, and what other parts of the daemon hand it (`extras`)."""

from __future__ import annotations

import json
from pathlib import Path

from wezparallel.backends.base import Handle
from wezparallel.clock import FakeClock
from wezparallel.plan.lifecycle import ProcessStatus, State
from wezparallel.runtime.persist import Persistence, Saved


def test_times_are_saved_as_wall_clock_and_extras_ride_along(tmp_path: Path) -> None:
    clock = FakeClock()
    clock.advance(100)
    persistence = Persistence(tmp_path / "state.json", clock)
    persistence.extras = lambda pid: {"health_reason": "http: 503",
                                      "agent": {"session_id": "s1"}}
    st = ProcessStatus(id="ws:a", state=State.RUNNING, pid=7, started_at=clock.monotonic() - 30,
                       since=clock.monotonic() - 20, health="unhealthy")
    persistence.save({"ws:a": st}, {"ws:a": Handle("ws:a", 7, "subprocess")})
    [saved] = Persistence(tmp_path / "state.json").load().values()
    assert saved.started_wall == clock.wall() - 30 and saved.since_wall == clock.wall() - 20
    assert (saved.health, saved.health_reason) == ("unhealthy", "http: 503")
    assert saved.agent == {"session_id": "s1"}


def test_a_record_of_an_older_daemon_reads_with_defaults(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"version": 1, "processes": {"ws:a": {
        "wanted": True, "restarts": 2, "fingerprint": None,
        "handle": {"id": "ws:a", "pid": 7, "backend": "subprocess"}}}}))
    saved = Persistence(path).load()["ws:a"]
    assert saved == Saved("ws:a", True, 2, Handle("ws:a", 7, "subprocess"), None)
    assert (saved.started_wall, saved.health, saved.agent) == (None, "unknown", None)
