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


def _daemon(seq: int, t: float, what: str, **fields: object) -> Event:
    return Event(seq, t, "daemon", None, {"what": what, **fields})


def _activity(seq: int, t: float, pid: str, frm: str | None, to: str) -> Event:
    return Event(seq, t, "activity", pid, {"from": frm, "to": to})


def _state(seq: int, t: float, pid: str, frm: str, to: str) -> Event:
    return Event(seq, t, "state", pid, {"from": frm, "to": to, "crashed": False})


def weekend() -> list[Event]:
    """An agent busy from 100 and a server RUNNING from 100; the daemon stops cleanly at 200
    (its status file last written then) and starts again at 10,000, adopting both."""
    return [_daemon(1, 90.0, "started"), _state(2, 100.0, "w:api", "STARTING", "RUNNING"),
            _activity(3, 100.0, "w:bot", "idle", "busy"), _daemon(4, 200.0, "stopping"),
            _daemon(5, 10_000.0, "started", previous_seen=200.0),
            _daemon(6, 10_000.0, "adopted", count=2)]


def test_the_time_the_daemon_was_down_is_its_own_figure_not_the_last_state() -> None:
    report = build(weekend(), start=0.0, end=10_100.0)
    assert report.daemon_down == 9800.0
    (bot,) = report.agents
    assert (bot.busy, bot.waiting, bot.idle) == (200.0, 0.0, 0.0)  # 100-200 and 10,000-10,100
    (api,) = report.processes
    assert api.observed == 200.0 and api.uptime_percent == 100.0
    assert report.to_json()["daemon_down"] == 9800.0


def test_a_killed_daemon_is_down_from_the_last_moment_it_was_seen() -> None:
    """SIGKILL: no stop event; the next start says when the old daemon was last seen."""
    events = [_activity(1, 100.0, "w:bot", "idle", "busy"),
              _state(2, 150.0, "w:api", "STARTING", "RUNNING"),
              _daemon(3, 1000.0, "started", previous_seen=400.0)]
    report = build(events, start=0.0, end=1100.0)
    assert report.daemon_down == 600.0
    assert report.agents[0].busy == 300.0 + 100.0


def test_without_a_previous_seen_the_last_event_bounds_the_downtime() -> None:
    """Journals written before `previous_seen` existed: the last event read is all we know."""
    events = [_activity(1, 100.0, "w:bot", "idle", "busy"),
              _state(2, 150.0, "w:api", "STARTING", "RUNNING"),
              _daemon(3, 1000.0, "started")]
    report = build(events, start=0.0, end=1100.0)
    assert report.daemon_down == 850.0
    assert report.agents[0].busy == 50.0 + 100.0


def test_downtime_is_clipped_to_the_window() -> None:
    report = build(weekend(), start=5000.0, end=10_050.0)
    assert report.daemon_down == 5000.0
    assert report.agents[0].busy == 50.0
    assert report.processes[0].observed == 50.0


def test_a_task_does_not_count_the_weekend_as_busy() -> None:
    from wezparallel.tasks.timing import busy_waiting

    assert busy_waiting(weekend(), "w:bot", 50.0, 10_100.0) == (200.0, 0.0)


def test_a_downtime_longer_than_the_journal_keeps_is_still_counted() -> None:
    """Everything before the start was pruned: `previous_seen` alone bounds the downtime."""
    events = [_daemon(7, 1000.0, "started", previous_seen=400.0),
              _activity(8, 1000.0, "w:bot", None, "busy")]
    report = build(events, start=0.0, end=1100.0)
    assert report.daemon_down == 600.0 and report.agents[0].busy == 100.0
