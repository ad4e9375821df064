"""The one bus: numbers events and fans them out without making the loop wait.

`publish` is synchronous and cheap: it numbers the event, adds it to the batch the journal
writes on the next loop iteration, and offers it to every subscription and listener. A
subscription is a bounded queue; one that is full is dropped on the spot and, once its reader
has caught up with what was queued, told `lagged` (it resubscribes `since` its last seq).
Listeners (`on:` hooks, plugins) must only queue work of their own; one that raises is logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from wezparallel.clock import Clock
from wezparallel.events.journal import Journal
from wezparallel.events.model import Draft, Event

log = logging.getLogger(__name__)

DEFAULT_QUEUE = 1000  # events a subscriber may fall behind before it is dropped

Listener = Callable[[Event], None]


class Subscription:
    """What one subscriber has yet to read: bounded, never blocking the publisher."""

    def __init__(self, accept: Callable[[Event], bool], limit: int) -> None:
        self.accept = accept
        self.limit = limit
        self.lagged = False
        self.closed = False  # the daemon is stopping: the stream ends after what is queued
        self._closed = asyncio.Event()  # cuts a linger short
        self.last_seq = 0  # the seq of the last event handed to the reader
        self._items: deque[Event] = deque()
        self._wake = asyncio.Event()

    def offer(self, event: Event) -> bool:
        """Queue the event if wanted; False when the queue is full (the caller drops us)."""
        if not self.accept(event):
            return True
        if len(self._items) >= self.limit:
            self.lagged = True
            self._wake.set()
            return False
        self._items.append(event)
        self._wake.set()
        return True

    def close(self) -> None:
        self.closed = True
        self._closed.set()
        self._wake.set()

    async def next(self) -> Event | None:
        """The next event, or None once everything queued is read and we were dropped
        (`lagged`) or the bus closed."""
        while not self._items:
            if self.lagged or self.closed:
                return None
            self._wake.clear()
            await self._wake.wait()
        event = self._items.popleft()
        self.last_seq = event.seq
        return event

    async def next_batch(self, limit: int, linger: float = 0.0) -> list[Event] | None:
        """Up to `limit` queued events (waiting for the first, then `linger` seconds for more),
        or None as `next` does. Lingering turns a burst into a few writes instead of one per
        loop iteration, leaving the loop to supervision while the burst lasts."""
        first = await self.next()
        if first is None:
            return None
        if linger > 0 and len(self._items) < limit - 1 and not self.closed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closed.wait(), linger)
        batch = [first]
        while self._items and len(batch) < limit:
            batch.append(self._items.popleft())
        self.last_seq = batch[-1].seq
        return batch


class EventBus:
    def __init__(self, clock: Clock, journal: Journal | None = None) -> None:
        self.clock = clock
        self.journal = journal
        self.seq = journal.last_seq() if journal is not None else 0
        self._pending: list[Event] = []
        self._flush_scheduled = False
        self._subscriptions: set[Subscription] = set()
        self.listeners: list[Listener] = []
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop that owns the bus
        self._thread = 0  # and its thread
        self._closing: set[Subscription] = set()  # closed, their readers not yet done
        self._drained = asyncio.Event()

    def emit(self, draft: Draft) -> Event | None:
        return self.publish(draft.type, draft.id, draft.fields)

    def publish(self, type: str, id: str | None, fields: Mapping[str, Any]) -> Event | None:
        """Number and fan out one event. From a thread other than the loop's (a worker), it
        is handed to the loop instead (None is returned): subscriptions and the journal's
        connection belong to the loop."""
        if self._elsewhere():
            assert self._loop is not None
            self._loop.call_soon_threadsafe(self.publish, type, id, fields)
            return None
        self.seq += 1
        event = Event(self.seq, self.clock.wall(), type, id, dict(fields))
        self._pending.append(event)
        self._schedule_flush()
        for sub in list(self._subscriptions):
            if not sub.offer(event):
                self._subscriptions.discard(sub)
                log.warning("an event subscriber fell %d events behind; dropped it", sub.limit)
        for listener in self.listeners:
            try:
                listener(event)
            except Exception:
                log.exception("an event listener failed on event %d", event.seq)
        return event

    def subscribe(self, accept: Callable[[Event], bool],
                  limit: int = DEFAULT_QUEUE) -> Subscription:
        """A subscription that receives every accepted event published from now on (seq >
        `self.seq` at this moment)."""
        sub = Subscription(accept, limit)
        self._subscriptions.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """A reader is done with `sub` (its stream ended or its client went away)."""
        self._subscriptions.discard(sub)
        self._closing.discard(sub)
        if not self._closing:
            self._drained.set()

    async def drained(self, timeout: float) -> None:
        """After `close`: wait (at most `timeout` seconds) until every stream has read the
        rest of its queue and ended, so that its last events reach its client."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._drained.wait(), timeout)

    @property
    def subscribers(self) -> int:
        return len(self._subscriptions)

    def _elsewhere(self) -> bool:
        """Called from a thread other than the live loop's, which has no loop of its own."""
        if self._loop is None or self._loop.is_closed() or threading.get_ident() == self._thread:
            return False
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return True
        return False

    def _schedule_flush(self) -> None:
        if self._flush_scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()  # no loop (start-up, tests): write at once
            return
        self._loop, self._thread = loop, threading.get_ident()
        self._flush_scheduled = True
        loop.call_soon(self.flush)

    def flush(self) -> None:
        """Write the batch to the journal: once per loop iteration, and before reading it."""
        self._flush_scheduled = False
        batch, self._pending = self._pending, []
        if self.journal is not None and batch:
            self.journal.append(batch)
            self.journal.prune(self.clock.wall())

    def close(self) -> None:
        """End every subscription (their streams finish cleanly) and write what is left."""
        for sub in self._subscriptions:
            sub.close()
        self._closing |= self._subscriptions
        self._subscriptions.clear()
        if not self._closing:
            self._drained.set()
        self.flush()
        if self.journal is not None:
            self.journal.close()
