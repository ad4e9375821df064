"""The plugin host: discovery once, on first need, and no event lost to a listener meanwhile.

Installed distributions are stood in for by the `find` and `load` functions the host is given
(tests/events/test_plugins.py pip-installs real ones); the listeners run in their real threads.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest

from tests.support import retry_until
from wezparallel.clock import FakeClock
from wezparallel.events.bus import EventBus
from wezparallel.events.plugin_host import PluginHost
from wezparallel.events.plugins import PluginInfo, Plugins
from wezparallel.events.settings import EventSettings


class Recorder:
    """A plugin listener that keeps the seqs it was handed, from its worker thread."""

    def __init__(self) -> None:
        self.seqs: list[int] = []
        self.lock = threading.Lock()

    def __call__(self, event: dict[str, Any]) -> None:
        with self.lock:
            self.seqs.append(event["seq"])

    def seen(self) -> list[int]:
        with self.lock:
            return list(self.seqs)


def _finder(calls: list[int]) -> Callable[[], list[Any]]:
    def find() -> list[Any]:
        calls.append(threading.get_ident())
        return ["an entry point"]
    return find


def _host(backlog: int = 1000, **found: Any) -> tuple[PluginHost, EventBus, list[int]]:
    calls: list[int] = []
    plugins = Plugins(**found)
    host = PluginHost(EventSettings(plugin_backlog=backlog), _finder(calls),
                      lambda entry_points: plugins if entry_points else Plugins())
    bus = EventBus(FakeClock())
    bus.listeners.append(host.on_event)
    return host, bus, calls


def _publish(bus: EventBus, count: int) -> None:
    for i in range(count):
        bus.publish("state", f"w:p{i}", {"from": "STOPPED", "to": "STARTING"})


def test_events_before_discovery_reach_a_listener_once_and_in_order() -> None:
    recorder = Recorder()
    host, bus, calls = _host(listeners=[("rec", recorder)])
    bus.publish("daemon", None, {"what": "started"})
    _publish(bus, 5)
    assert calls == [] and not host.discovered  # publishing alone discovers nothing
    host.plugins()
    _publish(bus, 3)
    host.plugins()  # a second need: no second discovery, no second delivery
    retry_until(lambda: len(recorder.seen()) >= 9, 10, 0.01, "the listener's thread")
    host.close()
    assert recorder.seen() == list(range(1, 10))
    assert len(calls) == 1


def test_a_full_backlog_discovers_at_once_instead_of_dropping() -> None:
    recorder = Recorder()
    host, bus, calls = _host(backlog=8, listeners=[("rec", recorder)])
    _publish(bus, 3)
    assert calls == [] and host.backlog_size() == 3
    _publish(bus, 1)  # the fourth fills it: half a listener's queue
    assert len(calls) == 1 and host.discovered and host.backlog_size() == 0
    _publish(bus, 4)  # the listener's queue has room for as many again
    retry_until(lambda: len(recorder.seen()) >= 8, 10, 0.01, "the listener's thread")
    host.close()
    assert recorder.seen() == list(range(1, 9))


def test_without_listeners_nothing_is_kept_after_discovery() -> None:
    host, bus, calls = _host()
    _publish(bus, 3)
    assert host.backlog_size() == 3
    assert host.plugins() == Plugins()
    _publish(bus, 50)
    assert host.backlog_size() == 0 and len(calls) == 1


def test_probe_kinds_are_known_only_once_discovered() -> None:
    check = lambda options, context: True  # noqa: E731
    host, _, calls = _host(probe_kinds={"ping": ("p", check)})
    assert host.probe_kinds() == frozenset() and calls == []
    assert host.discover_probe_kinds() == {"ping"}
    assert host.probe_kinds() == {"ping"} and len(calls) == 1


def test_a_discovery_that_raises_is_logged_and_leaves_no_plugins(
        caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> list[Any]:
        raise OSError("unreadable site-packages")

    host = PluginHost(EventSettings(), broken)
    assert host.plugins() == Plugins()
    assert "cannot discover plugins" in caplog.text and "unreadable" in caplog.text
    assert host.discovered


def test_in_the_background_the_search_runs_in_a_thread_and_the_loading_on_the_loop() -> None:
    recorder = Recorder()
    calls: list[int] = []
    loaded_on: list[int] = []

    def load(found: list[Any]) -> Plugins:
        loaded_on.append(threading.get_ident())
        return Plugins(listeners=[("rec", recorder)])

    host = PluginHost(EventSettings(), _finder(calls), load)
    bus = EventBus(FakeClock())
    bus.listeners.append(host.on_event)

    async def scenario() -> None:
        bus.publish("daemon", None, {"what": "started"})
        await host.discover_in_background()
        bus.publish("daemon", None, {"what": "stopping"})

    asyncio.run(scenario())
    retry_until(lambda: len(recorder.seen()) >= 2, 10, 0.01, "the listener's thread")
    host.close()
    assert recorder.seen() == [1, 2]
    assert len(calls) == 1 and calls[0] != threading.get_ident()
    assert loaded_on == [threading.get_ident()]


def test_a_need_during_the_background_search_waits_for_it_and_searches_once() -> None:
    searching, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow() -> list[Any]:
        calls.append(1)
        searching.set()
        release.wait(10)
        return ["an entry point"]

    wanted = Plugins(infos=[PluginInfo("p", "dist", "1")])
    host = PluginHost(EventSettings(), slow, lambda found: wanted if found else Plugins())

    async def scenario() -> Plugins:
        background = asyncio.create_task(host.discover_in_background())
        while not searching.is_set():  # the worker thread has begun
            await asyncio.sleep(0.001)
        threading.Timer(0.05, release.set).start()
        needed = host.plugins()  # blocks the loop until the search it joins is done
        await background
        return needed

    assert asyncio.run(scenario()) is wanted
    assert host.plugins() is wanted and calls == [1]
