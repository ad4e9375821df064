"""Hook events that arrived while the daemon was down, applied when it starts again.

The reporter (`wezparallel.agents.report`) appends an event it could not deliver to the spool
(`hooks.spool` in the state dir), stamped with its wall time. Agents outlive a daemon restart,
so without this a turn that ends meanwhile would leave its agent busy for good and its task
in doing.

When: `Daemon.replay_spool`, called by the daemon's start right after `restore()` (agents
re-adopted, their saved activity and session back) and before anything awaits. The socket
server is already bound, but its connection handlers only run once the event loop gets
control, so every live hook event is applied after the whole spool: per agent, events apply in
the order Claude Code ran them (its hooks run one at a time, and a spooled one was sent no
later than any live one after it). Not covered: a reporter that failed to connect just before
the socket was bound and appends only after the spool was taken (a window of the reporter's own
microseconds between the two, against the daemon's config load and adoption); its line waits
for the next start, where it is dropped if a newer event has changed the activity since.

Which lines apply, in file order: those of an agent the daemon tracks (adopted, hooks on),
newer than the `since` of its activity, and of its current session (a SessionStart begins a
new one). The others are dropped with a debug log: the process ended or was started anew
(a new instance's activity starts now), or the conversation changed. An applied line's
activity change is dated by the event's own time.

Crash safety: the spool is renamed to `hooks.spool.replaying` (under the reporters' lock, so
no append is lost into a file already read), applied, the runtime state saved, and only then
the replaying file is removed. A daemon killed before the removal leaves the file, which the
next daemon replays first: the lines whose change was saved are then older than or as old as
the saved `since` and are skipped, so none applies twice, and none is lost. Lines that changed
no activity may apply again, which changes nothing either (a task already in review is not
finished twice).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from wezparallel.runtime.agents import AgentTracker

if TYPE_CHECKING:
    from wezparallel.agents.activity import Hook

log = logging.getLogger(__name__)

REPLAYING_SUFFIX = ".replaying"


@dataclass(frozen=True)
class Spooled:
    """One event as the reporter spooled it."""

    time: float  # wall-clock seconds when the hook ran
    pid: str
    event: str
    session_id: str | None
    hook: Hook = field(default_factory=dict)


def parse(line: bytes) -> Spooled | None:
    """The event on one spool line; None for a line that is not one (a torn or foreign line)."""
    try:
        entry = json.loads(line)
        params = entry["request"]["params"]
        when, pid, event = entry["time"], params["id"], params["event"]
    except (ValueError, KeyError, TypeError):
        return None
    session, hook = params.get("session_id"), params.get("hook")
    if not (isinstance(when, (int, float)) and isinstance(pid, str) and isinstance(event, str)):
        return None
    return Spooled(float(when), pid, event, session if isinstance(session, str) else None,
                   {k: v for k, v in hook.items() if isinstance(v, (str, bool))}
                   if isinstance(hook, dict) else {})


def take(spool: Path) -> Path | None:
    """The file to replay: one a killed daemon left half replayed, else the spool renamed;
    None when there is nothing. The rename holds the lock the reporter appends under."""
    replaying = spool.with_name(spool.name + REPLAYING_SUFFIX)
    if replaying.exists():
        return replaying
    try:
        fd = os.open(spool, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.replace(spool, replaying)
    finally:
        os.close(fd)
    return replaying


def replay(spool: Path, apply: Callable[[Spooled], bool], persist: Callable[[], None]) -> int:
    """Apply what is spooled (a half-replayed file first, then the spool), saving and removing
    each file in turn; the number of lines applied."""
    applied = 0
    for _ in range(2):
        path = take(spool)
        if path is None:
            break
        applied += _apply_file(path, apply)
        persist()
        path.unlink()
    return applied


def _apply_file(path: Path, apply: Callable[[Spooled], bool]) -> int:
    lines = path.read_bytes().splitlines()
    applied = 0
    for number, line in enumerate(lines, 1):
        entry = parse(line)
        if entry is None:
            log.warning("%s:%d: not a spooled hook event, skipped", path, number)
        elif apply(entry):
            applied += 1
    log.info("hook spool: %d of %d events applied from %s", applied, len(lines), path)
    return applied


def applier(tracker: AgentTracker) -> Callable[[Spooled], bool]:
    """Feeds a spooled event to the tracker if it still concerns the agent as it is now."""
    def apply(entry: Spooled) -> bool:
        why = _stale(tracker, entry)
        if why is not None:
            log.debug("hook spool: dropped %s %s of %.3f: %s", entry.pid, entry.event,
                      entry.time, why)
            return False
        tracker.on_event(entry.pid, entry.event, entry.session_id, entry.hook, at=entry.time)
        log.debug("hook spool: applied %s %s of %.3f", entry.pid, entry.event, entry.time)
        return True
    return apply


def _stale(tracker: AgentTracker, entry: Spooled) -> str | None:
    """Why the event no longer applies; None when it does."""
    act = tracker.get(entry.pid)
    if act is None or not tracker.tracks(entry.pid):
        return "no such agent runs with hooks now"
    if entry.time <= act.since:
        return f"not newer than its activity ({act.current.value} since {act.since:.3f})"
    known = tracker.sessions.get(entry.pid)
    if entry.event != "SessionStart" and None not in (known, entry.session_id) \
            and known != entry.session_id:
        return f"of session {entry.session_id}, not the current {known}"
    return None

