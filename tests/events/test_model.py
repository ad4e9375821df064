"""Events derived by diffing statuses: through the real Supervisor, a fake clock and the
in-memory backend, so every transition is exact and nothing sleeps."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.engine.test_supervisor import Harness, spec
from wezparallel.events.model import Draft, Event, Filter, StatusDiffer, hook_names, id_matches
from wezparallel.plan.lifecycle import ExitInfo, ProcessStatus, State
from wezparallel.spec.model import Backoff, RestartPolicy


class Recorder:
    def __init__(self, h: Harness) -> None:
        self.drafts: list[Draft] = []
        self.differ = StatusDiffer(self.drafts.append, lambda pid: "probe said so")
        h.sup.status_watchers.append(self.differ.check)

    def states(self) -> list[tuple[str, str]]:
        return [(d.fields["from"], d.fields["to"]) for d in self.drafts if d.type == "state"]


def test_crash_restart_backoff_fatal_yield_each_transition_once(tmp_path: Path) -> None:
    async def scenario() -> None:
        h = Harness(tmp_path)
        rec = Recorder(h)
        h.sup.set_desired({"w:a": spec("a", restart=RestartPolicy.ALWAYS, max_restarts=2,
                                       backoff=Backoff(1.0, 8.0, 2.0, reset_after=0.0))})
        await h.settle()
        h.clock.advance(1.0)
        await h.settle()
        assert h.backend is not None
        h.backend.exit("w:a", ExitInfo(code=3))  # a crash after RUNNING
        await h.settle()
        h.backend.exit("w:a", ExitInfo(code=1))  # too soon: BACKOFF
        await h.settle()
        h.clock.advance(1.0)
        await h.settle()
        h.backend.exit("w:a", ExitInfo(code=1))  # second failed start: FATAL
        await h.settle()
        assert rec.states() == [
            ("STOPPED", "STARTING"), ("STARTING", "RUNNING"), ("RUNNING", "EXITED"),
            ("EXITED", "STARTING"), ("STARTING", "BACKOFF"), ("BACKOFF", "STARTING"),
            ("STARTING", "FATAL")]
        crash = rec.drafts[2].fields
        assert crash["exit_code"] == 3 and crash["crashed"] is True and crash["pid"] is not None
        assert rec.drafts[4].fields["reason"] == "exited too quickly (exit 1)"
        assert rec.drafts[4].fields["crashed"] is True
        assert "gave up" in rec.drafts[-1].fields["reason"]

    asyncio.run(scenario())


def test_user_stop_is_not_a_crash_and_start_secs_zero_still_passes_starting(
        tmp_path: Path) -> None:
    async def scenario() -> None:
        h = Harness(tmp_path)
        rec = Recorder(h)
        h.sup.set_desired({"w:a": spec("a", start_secs=0)})
        await h.settle()
        h.sup.request(["w:a"], "stop")
        await h.settle()
        assert rec.states() == [("STOPPED", "STARTING"), ("STARTING", "RUNNING"),
                                ("RUNNING", "STOPPING"), ("STOPPING", "STOPPED")]
        assert not any(d.fields["crashed"] for d in rec.drafts)
        assert hook_names(Event(1, 0.0, "state", "w:a", rec.drafts[-1].fields)) == ["stopped"]

    asyncio.run(scenario())


def test_health_change_is_an_event_with_its_reason(tmp_path: Path) -> None:
    async def scenario() -> None:
        h = Harness(tmp_path)
        rec = Recorder(h)
        h.sup.set_desired({"w:a": spec("a", start_secs=0)})
        await h.settle()
        pid = h.sup.statuses["w:a"].pid
        assert pid is not None
        h.sup.set_health("w:a", "unhealthy", pid)
        h.sup.set_health("w:a", "unhealthy", pid)  # no change, no event
        health = [d for d in rec.drafts if d.type == "health"]
        assert [(d.fields["from"], d.fields["to"], d.fields["reason"]) for d in health] == [
            ("unknown", "unhealthy", "probe said so")]

    asyncio.run(scenario())


def test_a_primed_status_yields_no_event_until_it_changes() -> None:
    drafts: list[Draft] = []
    differ = StatusDiffer(drafts.append)
    adopted = ProcessStatus(id="w:a", state=State.RUNNING, pid=42)
    differ.prime("w:a", adopted)
    differ.check("w:a", adopted)
    assert drafts == []
    differ.check("w:a", adopted.to(State.STOPPING, 1.0))
    assert [(d.fields["from"], d.fields["to"]) for d in drafts] == [("RUNNING", "STOPPING")]


def test_hook_names_cover_states_activities_health_and_crashes() -> None:
    def names(type: str, **fields: object) -> list[str]:
        return hook_names(Event(1, 0.0, type, "w:a", fields))

    assert names("state", to="FATAL", crashed=True) == ["fatal", "crashed"]
    assert names("state", to="EXITED", crashed=False) == ["exited"]
    assert names("activity", to="waiting") == ["waiting"]
    assert names("activity", to="starting") == []
    assert names("health", to="unhealthy") == ["unhealthy"]
    assert names("notice", message="x") == []


def test_filter_by_type_and_pattern() -> None:
    def ev(type: str, pid: str | None) -> Event:
        return Event(1, 0.0, type, pid, {})

    assert id_matches("web:api", "web") and id_matches("web:api", "web:*")
    assert id_matches("web:api", "all") and not id_matches("web:api", "db")
    only_web_state = Filter(frozenset({"state"}), ("web",))
    assert only_web_state(ev("state", "web:api"))
    assert not only_web_state(ev("health", "web:api"))
    assert not only_web_state(ev("state", "db:pg"))
    assert not only_web_state(ev("state", None))
    assert Filter()(ev("daemon", None))


def test_event_json_round_trip_is_flat() -> None:
    event = Event(7, 12.5, "state", "w:a", {"from": "RUNNING", "to": "EXITED"})
    data = event.to_json()
    assert data == {"seq": 7, "time": 12.5, "type": "state", "id": "w:a",
                    "from": "RUNNING", "to": "EXITED"}
    assert Event.from_json(data) == event
