"""How the event layer behaves, one frozen dataclass (units and defaults next to each field)."""

from __future__ import annotations

from dataclasses import dataclass

DAY = 86400.0


@dataclass(frozen=True)
class EventSettings:
    retention: float = 7 * DAY  # seconds an event stays in the journal; 0 keeps them all
    subscriber_queue: int = 1000  # events a subscriber may fall behind before it is dropped
    hook_timeout: float = 10.0  # seconds before an `on:` hook is killed with its process group
    hook_concurrency: int = 4  # `on:` hooks running at once; the others wait their turn
    hook_backlog: int = 256  # hooks waiting to run; beyond that they are skipped with a notice
    plugin_slow: float = 1.0  # seconds a plugin listener may take before it is logged as slow
    plugin_backlog: int = 1000  # events queued per plugin; beyond that they are dropped for it
