"""The daemon's plugins, discovered once, on first need, never on its way to the first starts.

Finding the entry points costs ~15 ms (importlib.metadata, then the metadata of every
installed distribution) for a result that is empty on nearly every machine. So the daemon
asks when something needs plugins: a workspace file naming a probe kind that is not built in,
the first check of a plugin's probe kind, `wezparctl plugins`; and otherwise once its first
starts are done, with the search in a worker thread so the loop keeps serving meanwhile.
Until then the bus's events wait here: a plugin listener still receives every event, in
order, exactly once.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any

from wezparallel.events import plugins as plugins_mod
from wezparallel.events.model import Event
from wezparallel.events.plugins import PluginListeners, Plugins
from wezparallel.events.settings import EventSettings

log = logging.getLogger(__name__)


class PluginHost:
    """Owns "discover once". A backlog half as long as a listener's queue (`plugin_backlog`)
    discovers at once rather than drop an event, so the listeners take it with as much room
    to spare; once discovery ran nothing is kept."""

    def __init__(self, settings: EventSettings,
                 find: Callable[[], list[Any]] = plugins_mod.find,
                 load: Callable[[list[Any]], Plugins] | None = None) -> None:
        self.settings = settings
        self._find = find
        self._load = load or (lambda found: plugins_mod.load(entry_points=found))
        self._search = threading.Lock()  # the loop may need the result while a thread searches
        self._found: list[Any] | None = None
        self._plugins: Plugins | None = None
        self._listeners: PluginListeners | None = None
        self._backlog: list[Event] | None = []  # None once discovered

    @property
    def discovered(self) -> bool:
        return self._plugins is not None

    def plugins(self) -> Plugins:
        """Discovering them (on the loop's thread) on the first call."""
        if self._plugins is None:
            try:
                self._plugins = self._load(self._entry_points())
            except Exception:  # a daemon without plugins, not no daemon
                log.exception("cannot load plugins")
                self._plugins = Plugins()
            self._attach(self._plugins)
        return self._plugins

    async def discover_in_background(self) -> None:
        """For a daemon with nothing waiting: the search in a worker thread; the plugins load
        on the loop, as they would on a need."""
        if self._plugins is None:
            await asyncio.to_thread(self._entry_points)
            self.plugins()

    def _entry_points(self) -> list[Any]:
        with self._search:
            if self._found is None:
                try:
                    self._found = list(self._find())
                except Exception:  # unreadable metadata
                    log.exception("cannot discover plugins")
                    self._found = []
            return self._found

    def _attach(self, found: Plugins) -> None:
        backlog, self._backlog = self._backlog or [], None
        listeners = PluginListeners(found, self.settings)
        if listeners.workers:
            self._listeners = listeners
            for event in backlog:
                listeners.on_event(event)

    def probe_kinds(self) -> frozenset[str]:
        """The kinds plugins provide as far as known now: none before discovery."""
        return frozenset(self._plugins.probe_kinds) if self._plugins is not None else frozenset()

    def discover_probe_kinds(self) -> frozenset[str]:
        return frozenset(self.plugins().probe_kinds)

    def backlog_size(self) -> int:
        return len(self._backlog or ())

    def on_event(self, event: Event) -> None:
        """The bus listener, from the daemon's start on."""
        if self._backlog is not None:
            self._backlog.append(event)
            if len(self._backlog) >= max(1, self.settings.plugin_backlog // 2):
                self.plugins()
        elif self._listeners is not None:
            self._listeners.on_event(event)

    def close(self, timeout: float = 1.0) -> None:
        """Stop the listeners; a daemon stopping before discovery discovers now, so that
        its listeners still see what it did, its `stopping` event included."""
        if self._backlog:
            self.plugins()
        if self._listeners is not None:
            self._listeners.close(timeout)
