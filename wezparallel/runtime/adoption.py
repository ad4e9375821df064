"""Adoption: what a new daemon takes over from the one before it.

The records of the state file (with its journal replayed) name what an earlier daemon left
running; each is adopted again through its backend when it is still the same process, with
its restarts, times, health and agent activity, and kept stopped when the user had stopped
it. What carries this daemon's mark but no record names (a start the earlier daemon was
killed in the middle of, a duplicate left by a reload it died in) is found by its mark and
taken back, or stopped when nothing wants it now.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Mapping
from typing import TYPE_CHECKING

from wezparallel.backends.base import Handle
from wezparallel.errors import WezparallelError
from wezparallel.plan import lifecycle as lc
from wezparallel.runtime.persist import Saved, fingerprint

if TYPE_CHECKING:
    from wezparallel.runtime.daemon import Daemon

log = logging.getLogger(__name__)

STRAY_STOP = 5.0  # seconds a process nobody wants gets between SIGTERM and SIGKILL


def restore(d: Daemon) -> None:
    """Adopt what an earlier daemon left running and restore the user's stops."""
    sup = d.supervisor
    desired = d.config.processes()
    adopted: list[str] = []
    records = d.persistence.load()
    for pid, saved in records.items():
        spec = desired.get(pid)
        _restore_extras(d, pid, saved)
        if saved.handle is not None:
            try:
                backend = d.registry.named(saved.handle.backend)
            except WezparallelError as exc:  # a backend that cannot even start here
                log.warning("%s: cannot re-adopt through %s: %s", pid,
                            saved.handle.backend, exc)
                continue
            matches = spec is not None and fingerprint(spec) == saved.fingerprint
            if sup.adopt(backend, saved.handle, wanted=saved.wanted,
                         restarts=saved.restarts, spec_matches=matches,
                         started_wall=saved.started_wall, since_wall=saved.since_wall,
                         health=saved.health):
                log.info("%s: adopted pid %d", pid, saved.handle.pid)
                d.differ.prime(pid, sup.statuses[pid])
                adopted.append(pid)
                continue
        if spec is not None and not saved.wanted:
            sup.statuses[pid] = lc.initial(spec, d.clock.monotonic())
            sup.statuses[pid] = lc.request_stop(sup.statuses[pid], d.clock.monotonic())
    _sweep(d, records, adopted)
    d.bus.publish("daemon", None, {"what": "adopted", "count": len(adopted),
                                      "processes": adopted})


def _sweep(d: Daemon, records: Mapping[str, Saved], adopted: list[str]) -> None:
    """Take back or stop what carries our mark but no record names: the starts a daemon
    killed mid-pass never recorded, and duplicates left by a reload it died in."""
    from wezparallel.backends import markers

    sup = d.supervisor
    desired = d.config.processes()
    fingerprints = d.persistence.spawn_fingerprints()
    for found in markers.find(sup.mark):
        current = sup.handles.get(found.id)
        if found.backend != "subprocess" or (current is not None
                                             and current.pid == found.pid):
            continue
        backend = d.registry.named("subprocess")
        handle = Handle(found.id, found.pid, "subprocess", found.create_time)
        spec, saved = desired.get(found.id), records.get(found.id)
        if current is None and spec is not None and sup.adopt(
                backend, handle, wanted=saved.wanted if saved else True,
                restarts=saved.restarts if saved else 0,
                spec_matches=fingerprints.get(found.token) == fingerprint(spec)):
            log.warning("%s: adopted pid %d, found by its mark (started by a daemon that "
                        "died before recording it)", found.id, found.pid)
            d.differ.prime(found.id, sup.statuses[found.id])
            adopted.append(found.id)
            continue
        log.warning("%s: stopping pid %d, left by an earlier daemon and not wanted now",
                    found.id, found.pid)
        if backend.adopt(handle):
            task = asyncio.create_task(backend.stop(handle, signal.SIGTERM, STRAY_STOP))
            d.stray_stops.add(task)
            task.add_done_callback(d.stray_stops.discard)


def _restore_extras(d: Daemon, pid: str, saved: Saved) -> None:
    """Before the adoption that follows: the tracker hands the activity to it."""
    if saved.health_reason is not None:
        d.health.reasons[pid] = saved.health_reason
    if saved.agent is not None:
        d.agents.restore(pid, saved.agent)
