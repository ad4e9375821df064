"""What of the supervisor's state is saved, and how a restarted daemon takes it back.

Per process: the handle (pid, its start time, backend, pane), the restart count, the user's
intent, and a fingerprint of the fields that shape the running program, so that a process
adopted after the config changed under a dead daemon is restarted rather than kept stale.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wezparallel.backends.base import Handle
from wezparallel.plan.lifecycle import ProcessStatus
from wezparallel.runtime.statefile import StateFile
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

    def to_json(self) -> dict[str, Any]:
        return {"wanted": self.wanted, "restarts": self.restarts, "fingerprint": self.fingerprint,
                "handle": self.handle.to_json() if self.handle else None}

    @classmethod
    def from_json(cls, pid: str, data: Mapping[str, Any]) -> Saved:
        handle = data.get("handle")
        return cls(id=pid, wanted=bool(data.get("wanted", True)),
                   restarts=int(data.get("restarts", 0)),
                   handle=Handle.from_json(handle) if isinstance(handle, dict) else None,
                   fingerprint=data.get("fingerprint"))


class Persistence:
    def __init__(self, path: Path) -> None:
        self._file = StateFile(path)

    def save(self, statuses: Mapping[str, ProcessStatus], handles: Mapping[str, Handle],
             intents: Mapping[str, bool] | None = None) -> None:
        """`intents` adds user intent for processes no longer tracked (after a shutdown)."""
        records: dict[str, dict[str, Any]] = {
            pid: Saved(pid, wanted, 0, None, None).to_json()
            for pid, wanted in (intents or {}).items()}
        for pid, st in statuses.items():
            records[pid] = Saved(pid, st.wanted, st.restarts, handles.get(pid),
                                 fingerprint(st.spec) if st.spec else None).to_json()
        try:
            self._file.save(records)
        except OSError as exc:
            log.error("cannot save runtime state to %s: %s", self._file.path, exc)

    def load(self) -> dict[str, Saved]:
        out: dict[str, Saved] = {}
        for pid, data in self._file.load().items():
            try:
                out[pid] = Saved.from_json(pid, data)
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("ignoring damaged state record for %s: %s", pid, exc)
        return out
