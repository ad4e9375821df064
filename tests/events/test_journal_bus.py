"""The journal (a real SQLite file) and the bus's fan-out, with a fake clock."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from wezparallel.clock import FakeClock
from wezparallel.events.bus import EventBus
from wezparallel.events.journal import Journal
from wezparallel.events.model import Event, Filter


def test_seq_continues_across_reopening_and_reads_filter(tmp_path: Path) -> None:
    clock = FakeClock()
    bus = EventBus(clock, Journal(tmp_path / "events.sqlite"))
    bus.publish("daemon", None, {"what": "started"})
    bus.publish("state", "w:a", {"from": "STOPPED", "to": "STARTING"})
    bus.close()
    again = EventBus(clock, Journal(tmp_path / "events.sqlite"))
    third = again.publish("state", "w:b", {"from": "STOPPED", "to": "STARTING"})
    assert third.seq == 3
    journal = again.journal
    assert journal is not None
    assert [e.seq for e in journal.read()] == [1, 2, 3]
    assert [e.id for e in journal.read(types={"state"})] == ["w:a", "w:b"]
    assert [e.seq for e in journal.read(after_seq=1, upto_seq=2)] == [2]
    assert journal.read(after_seq=2).__next__().fields == {"from": "STOPPED", "to": "STARTING"}


def test_retention_drops_old_events(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "events.sqlite", retention=3600)
    journal.append([Event(1, 1000.0, "notice", None, {}), Event(2, 5000.0, "notice", None, {})])
    journal.prune(now=5000.0)
    assert [e.seq for e in journal.read()] == [2]
    assert journal.last_seq() == 2


def test_a_broken_journal_file_disables_the_journal_not_the_daemon(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    bus = EventBus(FakeClock(), Journal(path))
    event = bus.publish("notice", None, {"message": "still numbered"})
    assert event.seq == 1 and bus.journal is not None and not bus.journal.enabled
    assert list(bus.journal.read()) == []


def test_a_burst_in_one_loop_iteration_is_one_journal_transaction(tmp_path: Path) -> None:
    batches: list[int] = []

    class Counting(Journal):
        def append(self, batch: Sequence[Event]) -> None:
            batches.append(len(batch))
            super().append(batch)

    async def scenario() -> None:
        bus = EventBus(FakeClock(), Counting(tmp_path / "events.sqlite"))
        for i in range(1000):
            bus.publish("notice", f"w:{i}", {"message": "burst"})
        assert batches == []  # nothing written while the loop is busy
        await asyncio.sleep(0)
        assert batches == [1000]
        bus.close()

    asyncio.run(scenario())
    assert [e.seq for e in Journal(tmp_path / "events.sqlite").read()][-1] == 1000


def test_a_full_subscriber_is_dropped_and_told_after_its_queue() -> None:
    async def scenario() -> None:
        bus = EventBus(FakeClock())
        slow = bus.subscribe(Filter(), limit=3)
        other = bus.subscribe(Filter(frozenset({"state"})), limit=100)
        for i in range(5):
            bus.publish("state", "w:a", {"n": i})
        assert bus.subscribers == 1  # the slow one is gone from the bus
        got = [await slow.next() for _ in range(4)]
        assert [e.seq for e in got[:3] if e is not None] == [1, 2, 3] and got[3] is None
        assert slow.lagged and slow.last_seq == 3
        assert [(await other.next()).seq for _ in range(5)] == [1, 2, 3, 4, 5]  # type: ignore[union-attr]

    asyncio.run(scenario())


def test_closing_the_bus_ends_subscriptions_cleanly() -> None:
    async def scenario() -> None:
        bus = EventBus(FakeClock())
        sub = bus.subscribe(Filter())
        bus.publish("daemon", None, {"what": "stopping"})
        bus.close()
        first = await sub.next()
        assert first is not None and first.fields == {"what": "stopping"}
        assert await sub.next() is None and sub.closed and not sub.lagged

    asyncio.run(scenario())


def test_a_failing_listener_is_logged_and_the_others_still_run(caplog) -> None:
    bus = EventBus(FakeClock())
    seen: list[int] = []

    def broken(event: Event) -> None:
        raise RuntimeError("boom")

    bus.listeners += [broken, lambda e: seen.append(e.seq)]
    bus.publish("notice", None, {"message": "x"})
    assert seen == [1] and "event listener failed" in caplog.text


def test_an_event_published_from_a_worker_thread_is_handed_to_the_loop(tmp_path: Path) -> None:
    import threading

    async def scenario() -> None:
        bus = EventBus(FakeClock(), Journal(tmp_path / "events.sqlite"))
        sub = bus.subscribe(Filter())
        bus.publish("daemon", None, {"what": "started"})  # on the loop: the bus knows it
        result: list[object] = []
        worker = threading.Thread(
            target=lambda: result.append(bus.publish("notice", None, {"message": "worker"})))
        worker.start()
        worker.join()
        assert result == [None]  # deferred, not numbered in the worker
        got = [await sub.next(), await sub.next()]
        assert [e.seq for e in got if e is not None] == [1, 2]
        await asyncio.sleep(0)
        assert bus.journal is not None and bus.journal.enabled
        assert [e.fields for e in bus.journal.read()][-1] == {"message": "worker"}
        bus.close()

    asyncio.run(scenario())
