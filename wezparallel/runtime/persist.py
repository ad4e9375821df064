"""What of the supervisor's state is saved, and how a restarted daemon takes it back.

Per process: the handle (pid, its start time, backend, pane), the restart count, the user's
intent, and a fingerprint of the fields that shape the running program, so that a process
adopted after the config changed under a dead daemon is restarted rather than kept stale.

So that a restart of the daemon changes nothing anyone can see, also: when the instance started
and when it entered its state (as wall-clock times: a new daemon's monotonic clock has another
origin), its health and the last failed check's reason, and for an agent what `AgentTracker`
keeps (activity with its history, session id, problem). Records without these fields (from an
older daemon) are read as before.

The state file is written once per pass of the loop; each start is also journalled as it
happens (`state.journal`: the intent with its token, then the handle), and `load` replays
the journal over the file, so no start is lost to a daemon killed mid-pass. A pass that only
begins starts writes nothing: what it changes is saved once they ran, and a daemon killed
before that finds every fork in the journal (and, should the journal be lost too, by the
mark in the process's environment), so a cold start of N processes writes the file once.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from wezparallel.backends.base import Handle
from wezparallel.clock import Clock
from wezparallel.plan.lifecycle import ProcessStatus
from wezparallel.runtime.statefile import Journal, StateFile
from wezparallel.spec.model import RESTART_FIELDS, ProcessSpec

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=4096)
def fingerprint(spec: ProcessSpec) -> str:
    """Cached per (frozen, hashable) spec: the state is saved after every change, and hashing
    a thousand specs each time would sit on the path of every crash recovery."""
    shape = repr(tuple((name, getattr(spec, name)) for name in sorted(RESTART_FIELDS)))
    return hashlib.sha256(shape.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Saved:
    id: str
    wanted: bool
    restarts: int
    handle: Handle | None
    fingerprint: str | None
    started_wall: float | None = None  # wall-clock start of the instance
    since_wall: float | None = None  # wall-clock time its state was entered
    health: str = "unknown"
    health_reason: str | None = None
    agent: Mapping[str, Any] | None = None  # AgentTracker.to_json

    def to_json(self) -> dict[str, Any]:
        return {"wanted": self.wanted, "restarts": self.restarts, "fingerprint": self.fingerprint,
                "handle": self.handle.to_json() if self.handle else None,
                "started_wall": self.started_wall, "since_wall": self.since_wall,
                "health": self.health, "health_reason": self.health_reason,
                "agent": self.agent}

    @classmethod
    def from_json(cls, pid: str, data: Mapping[str, Any]) -> Saved:
        handle = data.get("handle")
        agent = data.get("agent")
        reason = data.get("health_reason")
        return cls(id=pid, wanted=bool(data.get("wanted", True)),
                   restarts=int(data.get("restarts", 0)),
                   handle=Handle.from_json(handle) if isinstance(handle, dict) else None,
                   fingerprint=data.get("fingerprint"),
                   started_wall=_number(data.get("started_wall")),
                   since_wall=_number(data.get("since_wall")),
                   health=str(data.get("health") or "unknown"),
                   health_reason=str(reason) if reason is not None else None,
                   agent=agent if isinstance(agent, dict) else None)


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


Extras = Callable[[str], Mapping[str, Any]]
"""Per process id, the saved fields other parts of the daemon own: `health_reason`, `agent`."""


class Persistence:
    def __init__(self, path: Path, clock: Clock | None = None) -> None:
        """`clock`: to save times as wall-clock times (without it, none are saved)."""
        self._file = StateFile(path)
        self._clock = clock
        self.extras: Extras | None = None
        self._journal = Journal(path.with_name(path.stem + ".journal"))

    # --- the journal: each start as it happens -----------------------------------------------

    def spawning(self, spec: ProcessSpec, token: str) -> None:
        """Before the fork: the token the new process carries in its environment."""
        self._append({"op": "spawning", "id": spec.id, "spawn": token,
                      "fingerprint": fingerprint(spec)})

    def spawned(self, spec: ProcessSpec, handle: Handle) -> None:
        """Right after it: who the process is."""
        self._append({"op": "spawned", "id": spec.id, "handle": handle.to_json(),
                      "fingerprint": fingerprint(spec)})

    def _append(self, record: dict[str, Any]) -> None:
        try:
            self._journal.append(record)
        except OSError as exc:  # the marker scan still finds the process after a crash
            log.error("cannot journal %s of %s in %s: %s", record["op"], record["id"],
                      self._journal.path, exc)

    def spawn_fingerprints(self) -> dict[str, str]:
        """Per start token in the journal, the fingerprint of the spec it started."""
        return {str(r["spawn"]): str(r.get("fingerprint")) for r in self._journal.read()
                if r.get("op") == "spawning" and "spawn" in r}

    def close(self) -> None:
        self._journal.close()

    # --- the state file ----------------------------------------------------------------------

    def save(self, statuses: Mapping[str, ProcessStatus], handles: Mapping[str, Handle],
             intents: Mapping[str, bool] | None = None) -> None:
        """`intents` adds user intent for processes no longer tracked (after a shutdown)."""
        records: dict[str, dict[str, Any]] = {
            pid: Saved(pid, wanted, 0, None, None).to_json()
            for pid, wanted in (intents or {}).items()}
        for pid, st in statuses.items():
            records[pid] = Saved(pid, st.wanted, st.restarts, handles.get(pid),
                                 fingerprint(st.spec) if st.spec else None,
                                 self._wall(st.started_at), self._wall(st.since),
                                 st.health).to_json()
        if self.extras is not None:
            for pid, record in records.items():
                record.update(self.extras(pid))
        try:
            self._file.save(records)
            self._journal.clear()
        except OSError as exc:
            log.error("cannot save runtime state to %s: %s", self._file.path, exc)

    def _wall(self, monotonic: float | None) -> float | None:
        if monotonic is None or self._clock is None:
            return None
        return self._clock.wall() - (self._clock.monotonic() - monotonic)

    def load(self) -> dict[str, Saved]:
        """The state file, with the starts journalled after its last save replayed over it."""
        out: dict[str, Saved] = {}
        for pid, data in self._file.load().items():
            try:
                out[pid] = Saved.from_json(pid, data)
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("ignoring damaged state record for %s: %s", pid, exc)
        for record in self._journal.read():
            if record.get("op") == "spawned":
                self._replay(out, record)
        return out

    @staticmethod
    def _replay(out: dict[str, Saved], record: dict[str, Any]) -> None:
        try:
            pid = str(record["id"])
            handle = Handle.from_json(record["handle"])
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("ignoring damaged journal record %s: %s", record, exc)
            return
        known = out.get(pid)
        print_ = record.get("fingerprint")
        fp = print_ if isinstance(print_, str) else None
        if known is None:
            out[pid] = Saved(pid, True, 0, handle, fp)
        else:  # a new instance: what was saved about the one before it does not carry over
            out[pid] = replace(known, handle=handle, fingerprint=fp, started_wall=None,
                               since_wall=None, health="unknown", health_reason=None,
                               agent=None)
