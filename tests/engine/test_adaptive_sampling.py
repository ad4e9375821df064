"""Metrics are sampled fast only while someone looks, slowly otherwise (idle CPU)."""

from __future__ import annotations

import sqlite3
import time

import pytest

from tests.support import retry_until
from wezparallel.ipc.client import Client
from wezparallel.metrics.settings import MetricsSettings

S = MetricsSettings(interval=5.0, idle_interval=60.0, watch_grace=30.0)


@pytest.mark.parametrize("last, now, watched_until, due", [
    (100.0, 101.0, float("-inf"), 160.0),  # nobody ever looked: the idle interval
    (100.0, 101.0, 120.0, 105.0),  # someone looks: the fast one
    (100.0, 130.0, 120.0, 160.0),  # the look is over: idle again
    (100.0, 150.0, 170.0, 105.0),  # a look after a quiet spell: due already, so at once
])
def test_the_next_pass(last: float, now: float, watched_until: float, due: float) -> None:
    assert S.next_pass(last, now, watched_until) == due


def test_an_idle_interval_below_the_fast_one_means_the_fast_one() -> None:
    s = MetricsSettings(interval=5.0, idle_interval=1.0)
    assert s.next_pass(0.0, 0.0, float("-inf")) == 5.0


def _passes(db: str) -> int:
    """Passes recorded so far: none while the first one is still creating the file's tables
    (the file exists from the daemon's `connect` on, its tables a few fsyncs later)."""
    with sqlite3.connect(db) as conn:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'raw'").fetchone() is None:
            return 0
        return int(conn.execute("SELECT COUNT(DISTINCT t) FROM raw").fetchone()[0])


def test_a_look_speeds_sampling_up_through_a_real_daemon(daemon_factory) -> None:
    d = daemon_factory({"a.yaml": "workspace: a\nprocesses:\n  s: {command: sleep 600}\n"},
                       extra=("--metrics-interval", "0.2", "--metrics-idle-interval", "3600"))
    d.start()  # waits with `ping`, which is no look at metrics
    db = str(d.state / "metrics.sqlite")
    retry_until(lambda: (d.state / "metrics.sqlite").exists() and _passes(db) >= 1, 15, 0.05,
                "the first pass, one fast interval after start")
    time.sleep(1.0)  # five fast intervals in which nobody looks
    assert _passes(db) == 1
    with Client(d.socket, timeout=5) as client:
        client.call("metrics_snapshot", {})
    retry_until(lambda: _passes(db) >= 4, 15, 0.05, "fast passes after a look")
