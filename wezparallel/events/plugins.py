"""Plugins: Python distributions that declare entry points in the group `wezparallel`.

pluggy (the plugin manager of pytest, tox and datasette) gives named hook specifications,
checks each plugin's hooks against them when it registers, and lets a distribution provide
any subset. We keep the specifications narrow:

- `wezparallel_event(event)`: a listener, called with every event as a JSON-able dict.
- `wezparallel_commands()`: click commands added to `wezparctl`.
- `wezparallel_probe_kinds()`: health probe kinds, `{"kind": check}`; `check(options, context)`
  returns True/False or (ok, reason). Workspace files may then use `kind:` with `options:`.

Isolation: each plugin's listener runs in a thread of its own, fed through a bounded queue, so
a plugin that raises is logged, one that is slow is logged and falls behind (events beyond its
backlog are dropped for it, with a warning), and neither ever runs on the daemon's loop.
A plugin that fails to load is listed by `wezparctl plugins` with the reason; the rest load.
A daemon discovers them once, on first need, through `plugin_host.PluginHost`.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wezparallel.events.model import Event
from wezparallel.events.settings import EventSettings

log = logging.getLogger(__name__)

GROUP = "wezparallel"
HOOKS = ("wezparallel_event", "wezparallel_commands", "wezparallel_probe_kinds")
BUILTIN_PROBE_KINDS = frozenset({"exec", "http", "tcp", "output", "idle", "memory"})


class Specs:
    """The hook specifications, registered with pluggy when a plugin is found."""

    def wezparallel_event(self, event: dict[str, Any]) -> None:
        """Called with each event (see docs/protocol.md), in the plugin's own thread."""

    def wezparallel_commands(self) -> list[Any]:
        """click commands to add to `wezparctl`."""
        return []

    def wezparallel_probe_kinds(self) -> dict[str, Any]:
        """Health probe kinds: name -> check(options: dict, context: dict) -> bool or
        (bool, reason). Called in a worker thread, bounded by the probe's `timeout`."""
        return {}


@dataclass(frozen=True)
class PluginInfo:
    name: str  # the entry point's name
    distribution: str
    version: str
    hooks: tuple[str, ...] = ()
    error: str | None = None  # why it did not load

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "distribution": self.distribution, "version": self.version,
                "hooks": list(self.hooks), "error": self.error}


@dataclass
class Plugins:
    """What loaded, what did not, and the callables each hook has."""

    infos: list[PluginInfo] = field(default_factory=list)
    listeners: list[tuple[str, Callable[..., Any]]] = field(default_factory=list)
    commands: list[tuple[str, Callable[..., Any]]] = field(default_factory=list)
    probe_kinds: dict[str, tuple[str, Callable[..., Any]]] = field(default_factory=dict)


def find(group: str = GROUP) -> list[Any]:
    """The entry points of `group`: the costly part of discovery (importlib.metadata and the
    metadata of every installed distribution), and one that may run in a worker thread."""
    from importlib import metadata

    return list(metadata.entry_points(group=group))


def load(group: str = GROUP, entry_points: list[Any] | None = None) -> Plugins:
    """Load every entry point of `group` (those `find` returned, if given); pluggy is
    imported only when there is one."""
    found = Plugins()
    if entry_points is None:
        entry_points = find(group)
    if not entry_points:
        return found
    import pluggy

    manager = pluggy.PluginManager(GROUP)
    marker = pluggy.HookspecMarker(GROUP)
    spec_class = type("Specs", (), {name: marker(getattr(Specs, name)) for name in HOOKS})
    manager.add_hookspecs(spec_class)
    for ep in entry_points:
        dist = ep.dist.name if ep.dist is not None else "?"
        version = ep.dist.version if ep.dist is not None else "?"
        try:
            plugin = ep.load()
            manager.register(plugin, name=ep.name)
            manager.check_pending()
        except Exception as exc:
            if manager.has_plugin(ep.name):
                manager.unregister(name=ep.name)
            log.warning("plugin %s (%s) failed to load: %s: %s", ep.name, dist,
                        type(exc).__name__, exc)
            found.infos.append(PluginInfo(ep.name, dist, version,
                                          error=f"{type(exc).__name__}: {exc}"))
            continue
        hooks = tuple(sorted(h.name for h in manager.get_hookcallers(plugin) or []))
        found.infos.append(PluginInfo(ep.name, dist, version, hooks))
        for impl in manager.hook.wezparallel_event.get_hookimpls():
            if impl.plugin_name == ep.name:
                found.listeners.append((ep.name, impl.function))
        for impl in manager.hook.wezparallel_commands.get_hookimpls():
            if impl.plugin_name == ep.name:
                found.commands.append((ep.name, impl.function))
        _add_probe_kinds(found, ep.name, manager)
    return found


def _add_probe_kinds(found: Plugins, name: str, manager: Any) -> None:
    """A plugin's probe kinds; one whose hook fails or claims a built-in kind is logged."""
    for impl in manager.hook.wezparallel_probe_kinds.get_hookimpls():
        if impl.plugin_name != name:
            continue
        try:
            kinds = dict(impl.function())
        except Exception as exc:
            log.warning("plugin %s: its probe kinds failed: %s", name, exc)
            continue
        for kind, check in kinds.items():
            if kind in BUILTIN_PROBE_KINDS or kind in found.probe_kinds or not callable(check):
                log.warning("plugin %s: probe kind %r ignored (built in, taken or not "
                            "callable)", name, kind)
                continue
            found.probe_kinds[kind] = (name, check)


def commands(group: str = GROUP) -> dict[str, Any]:
    """`wezparctl` subcommands from plugins, by name; a plugin that fails here is skipped."""
    out: dict[str, Any] = {}
    for name, provide in load(group).commands:
        try:
            for command in provide():
                out[command.name] = command
        except Exception as exc:
            log.warning("plugin %s: its commands failed: %s", name, exc)
    return out


_STOP = object()


class _Worker:
    """One plugin listener in its own thread, behind a bounded queue."""

    def __init__(self, name: str, listener: Callable[..., Any], settings: EventSettings) -> None:
        self.name, self.listener, self.settings = name, listener, settings
        self.queue: queue.Queue[object] = queue.Queue(settings.plugin_backlog)
        self.dropped = 0
        self.thread = threading.Thread(target=self._run, name=f"plugin {name}", daemon=True)
        self.thread.start()

    def offer(self, event: dict[str, Any]) -> None:
        try:
            self.queue.put_nowait(event)
        except queue.Full:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("plugin %s is %d events behind; dropped %d so far", self.name,
                            self.settings.plugin_backlog, self.dropped)

    def _run(self) -> None:
        while (item := self.queue.get()) is not _STOP:
            began = time.monotonic()
            try:
                self.listener(event=item)
            except Exception:
                log.exception("plugin %s failed on an event", self.name)
            took = time.monotonic() - began
            if took > self.settings.plugin_slow:
                log.warning("plugin %s took %.1f s over one event", self.name, took)


class PluginListeners:
    """The bus listener that hands each event to every plugin's worker; never blocks."""

    def __init__(self, plugins: Plugins, settings: EventSettings) -> None:
        self.workers = [_Worker(name, fn, settings) for name, fn in plugins.listeners]

    def on_event(self, event: Event) -> None:
        data = event.to_json()
        for worker in self.workers:
            worker.offer(dict(data))  # a plugin that edits its copy cannot reach another's

    def close(self, timeout: float = 1.0) -> None:
        """Ask each worker to stop; one stuck in a plugin is left (a daemon thread)."""
        for worker in self.workers:
            try:
                worker.queue.put(_STOP, timeout=timeout)
            except queue.Full:
                continue
        for worker in self.workers:
            worker.thread.join(timeout)
