"""Time tracking folded from scripted event histories (no clock, no daemon)."""

from __future__ import annotations

from wezparallel.events.model import Event
from wezparallel.events.report import build


def history() -> list[Event]:
    rows = [
        (10.0, "state", "w:api", "STOPPED", "STARTING", False),
        (10.0, "state", "w:api", "STARTING", "RUNNING", False),
        (110.0, "state", "w:api", "RUNNING", "EXITED", True),  # crash 1
        (110.0, "state", "w:api", "EXITED", "STARTING", False),
        (111.0, "state", "w:api", "STARTING", "BACKOFF", True),  # crash 2 (failed start)
        (131.0, "state", "w:api", "BACKOFF", "STARTING", False),
        (131.0, "state", "w:api", "STARTING", "RUNNING", False),
        (150.0, "state", "w:new", "STOPPED", "STARTING", False),
        (151.0, "state", "w:new", "STARTING", "FATAL", True),
        (100.0, "activity", "w:bot", None, "starting", False),
        (120.0, "activity", "w:bot", "starting", "busy", False),
        (180.0, "activity", "w:bot", "busy", "waiting", False),
        (190.0, "activity", "w:bot", "waiting", "idle", False),
    ]
    rows.sort(key=lambda r: r[0])
    return [Event(i, t, kind, pid, {"from": frm, "to": to, "crashed": crashed})
            for i, (t, kind, pid, frm, to, crashed) in enumerate(rows, 1)]


def test_uptime_restarts_crashes_backoff_and_mtbc_over_a_window() -> None:
    report = build(history(), start=60.0, end=260.0)
    api, new = report.processes
    assert api.id == "w:api" and api.observed == 200.0
    assert api.uptime_percent == 100.0 * (50 + 129) / 200  # RUNNING 60-110 and 131-260
    assert (api.restarts, api.crashes) == (2, 2)
    assert api.backoff == 20.0 and api.fatal == 0.0
    assert api.mean_time_between_crashes == (50 + 129) / 2
    assert new.observed == 110.0 and new.fatal == 109.0  # counted from its first event
    assert (new.restarts, new.crashes, new.mean_time_between_crashes) == (0, 1, 0.0)
    assert report.processes[0].mean_time_between_crashes is not None


def test_agent_time_busy_waiting_idle() -> None:
    (bot,) = build(history(), start=60.0, end=260.0).agents
    assert (bot.id, bot.busy, bot.waiting, bot.idle) == ("w:bot", 60.0, 10.0, 70.0)


def test_a_window_that_opens_later_starts_from_the_state_then() -> None:
    report = build(history(), start=200.0, end=260.0)
    api = report.processes[0]
    assert api.uptime_percent == 100.0 and api.restarts == 0 and api.crashes == 0
    assert report.agents[0].idle == 60.0 and report.agents[0].busy == 0.0
