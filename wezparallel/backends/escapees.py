"""Descendants that leave their process group, found and ended through the subreaper.

The subprocess backend starts each program as the leader of its own session and group, and
kills what is left of the group when the leader ends. A descendant that made a session of its
own (`setsid`, the double fork of a daemon) is no longer in that group. Linux gives a
supervisor a way to keep it: as a child subreaper (`PR_SET_CHILD_SUBREAPER`, prctl(2)) the
daemon, not init, becomes the parent of every orphaned descendant. Each program also gets a
marker in its environment (`MARKER=process id`), which what it starts inherits, so an orphan
re-parented to the daemon says whose it was; when that process's leader ends, its orphans are
killed and reaped.

Not caught (see the README's reliability notes): an orphan that cleared its environment stays
the daemon's child, unattributed, until the daemon exits; the orphans of a process adopted from
an earlier daemon went to init when that daemon died; nothing is watched while no daemon runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
from pathlib import Path

from wezparallel.backends.procwatch import PidWatch

log = logging.getLogger(__name__)

MARKER = "WEZPARALLEL_PROCESS"
PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>
_PASSES = 5  # killing an orphan re-parents its own children to us: look again, this often


def become_subreaper() -> bool:
    """Make this process the parent of its orphaned descendants; False where Linux refuses."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        ok = bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False
    if not ok:
        log.warning("cannot become a child subreaper: %s", os.strerror(ctypes.get_errno()))
    return ok


def children(pid: int | None = None) -> list[int]:
    """Direct children of `pid` (this process by default), over all its threads: an orphan
    is re-parented to one of the subreaper's threads."""
    pid = os.getpid() if pid is None else pid
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        with contextlib.suppress(OSError, ValueError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def marked(pid: int, process_id: str) -> bool:
    token = f"{MARKER}={process_id}".encode()
    try:
        return token in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False


def end_orphans(process_id: str, loop: asyncio.AbstractEventLoop,
                keep: frozenset[int] = frozenset()) -> int:
    """Kill (SIGKILL, with their groups) our children that carry `process_id`'s marker, other
    than the pids in `keep`, and reap them as they end; the number killed. Each is our unreaped
    child when signalled, so its pid cannot be a stranger's."""
    killed: set[int] = set()
    for _ in range(_PASSES):
        found = [c for c in children() if c not in keep and c not in killed
                 and marked(c, process_id)]
        if not found:
            break
        for pid in found:
            for kill in (os.killpg, os.kill):
                with contextlib.suppress(OSError):
                    kill(pid, signal.SIGKILL)
            _reap_when_ended(pid, loop)
            killed.add(pid)
    if killed:
        log.info("%s: killed %d process(es) it left behind outside its group", process_id,
                 len(killed))
    return len(killed)


def _reap_when_ended(pid: int, loop: asyncio.AbstractEventLoop) -> None:
    def reaped(watch: PidWatch) -> None:
        watch.reap()
        watch.close()

    with contextlib.suppress(OSError):  # gone already (reaped elsewhere): nothing to do
        PidWatch(loop, pid, reaped)
