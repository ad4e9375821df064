"""subscribe: the journal, then live events, on one connection (docs/protocol.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from wezparallel.errors import RemoteError
from wezparallel.events.model import TYPES, Event, Filter, id_matches
from wezparallel.runtime.daemon import Daemon
from wezparallel.runtime.status import status_object

MAX_QUEUE = 100_000
BATCH = 500  # events per stream item when the client asks for `batch`
LINGER = 0.02  # seconds a batching subscriber waits for more events after the first


def handlers(d: Daemon) -> dict[str, Callable[[dict[str, Any]], Awaitable[Any]]]:
    async def subscribe(params: dict[str, Any]) -> Any:
        return _subscribe(d, params)

    async def plugins(params: dict[str, Any]) -> Any:
        return {"plugins": [info.to_json() for info in d.plugin_host.plugins().infos]}

    async def report(params: dict[str, Any]) -> Any:
        return _report(d, params)

    return {"subscribe": subscribe, "plugins": plugins, "report": report}


def event_filter(params: dict[str, Any]) -> Filter:
    types, patterns = params.get("types") or [], params.get("patterns") or []
    if not isinstance(types, list) or not all(t in TYPES for t in types):
        raise RemoteError("invalid_params", f"'types' must be a list of: {', '.join(TYPES)}")
    if not isinstance(patterns, list) or not all(isinstance(p, str) and p for p in patterns):
        raise RemoteError("invalid_params", "'patterns' must be a list of process ids or "
                          "patterns (ws:name, ws:*, ws, all)")
    return Filter(frozenset(types), tuple(patterns))


def _since(params: dict[str, Any]) -> tuple[int | None, float | None]:
    seq, time = params.get("since"), params.get("since_time")
    if seq is not None and (isinstance(seq, bool) or not isinstance(seq, int) or seq < 0):
        raise RemoteError("invalid_params", "'since' must be a sequence number (>= 0)")
    if time is not None and (isinstance(time, bool) or not isinstance(time, (int, float))):
        raise RemoteError("invalid_params", "'since_time' must be epoch seconds")
    return seq, None if time is None else float(time)


def _subscribe(d: Daemon, params: dict[str, Any]) -> AsyncIterator[Any]:
    """Checked at once (a bad request is an error reply); the stream registers with the bus
    before it reads the journal, so the two meet with no gap and no duplicate."""
    accept = event_filter(params)
    since, since_time = _since(params)
    queue = params.get("queue", d.settings.events.subscriber_queue)
    if isinstance(queue, bool) or not isinstance(queue, int) or not 1 <= queue <= MAX_QUEUE:
        raise RemoteError("invalid_params", f"'queue' must be an integer from 1 to {MAX_QUEUE}")
    follow, snapshot = bool(params.get("follow", True)), bool(params.get("snapshot", True))
    batch = BATCH if params.get("batch") else 0
    sub = d.bus.subscribe(accept, queue) if follow else None
    upto = d.bus.seq
    state = status_object(d, list(accept.patterns) or None) if snapshot else None
    # the board as of the same seq, for a reader of task events (the dashboard's board)
    tasks = [t.to_json() for t in d.listed_tasks()] \
        if snapshot and (not accept.types or "task" in accept.types) else None

    def shaped(events: list[dict[str, Any]]) -> Any:
        return events if batch else events[0]

    async def stream() -> AsyncIterator[Any]:
        last = upto
        try:
            if state is not None:
                first = {"type": "snapshot", "seq": upto, "status": state}
                yield shaped([first if tasks is None else first | {"tasks": tasks}])
            if since is not None or since_time is not None:
                past = _past(d, accept, since or 0, upto, since_time)
                for i in range(0, len(past), batch or 1):
                    yield shaped([e.to_json() for e in past[i:i + (batch or 1)]])
            while sub is not None:
                live = await sub.next_batch(batch or 1, LINGER if batch else 0.0)
                if live is None and sub.closed:
                    return
                if live is None:
                    yield shaped([_lagged(d, max(last, sub.last_seq), sub.limit)])
                    return
                last = live[-1].seq
                yield shaped([e.to_json() for e in live])
        finally:
            if sub is not None:
                d.bus.unsubscribe(sub)

    return stream()


def _lagged(d: Daemon, last: int, limit: int) -> dict[str, Any]:
    return {"type": "lagged", "seq": last, "id": None, "time": d.clock.wall(),
            "message": f"more than {limit} events behind; resubscribe with since = seq"}


def _report(d: Daemon, params: dict[str, Any]) -> dict[str, Any]:
    """Folded from every kept `state` and `activity` event: those before the window say
    where each process stood when it opened; `daemon` starts end the spans it was down."""
    from wezparallel.events import report

    accept = event_filter({"patterns": params.get("patterns")})
    _, since_time = _since(params)
    end = d.clock.wall()
    start = since_time if since_time is not None else end - report.DEFAULT_WINDOW
    d.bus.flush()
    journal = d.bus.journal
    past = journal.read(types=("state", "activity", "daemon")) if journal is not None \
        else iter(())  # daemon starts bound the downtimes, whatever the patterns
    out = report.build((e for e in past if e.type == "daemon" or accept(e)), start,
                       end).to_json()
    out |= _task_report(d, accept, start, end)
    return out | {"journal_disabled": journal.reason if journal is not None else "no journal"}


def _task_report(d: Daemon, accept: Filter, start: float, end: float) -> dict[str, Any]:
    """Tasks finished in the window or at work in it, of the agents the patterns name."""
    from wezparallel.tasks.report import build

    wanted = [t for t in d.listed_tasks() if t.agent is not None and (
        not accept.patterns or any(id_matches(t.agent, p) for p in accept.patterns))]
    return build(wanted, start, end)


def _past(d: Daemon, accept: Filter, after: int, upto: int,
          since_time: float | None) -> list[Event]:
    d.bus.flush()  # what this loop iteration published is not in the journal yet
    if d.bus.journal is None:
        return []
    return [e for e in d.bus.journal.read(after_seq=after, upto_seq=upto, since_time=since_time,
                                          types=accept.types) if accept(e)]
