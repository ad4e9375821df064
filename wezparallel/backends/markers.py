"""A mark in the environment of every process we start, so a new daemon finds them all.

The state file says which process runs for which id, but a daemon killed between a fork and
the record of its pid leaves a process that no record names (issue 16.2). Each start therefore
puts three facts in the child's environment, where the kernel keeps them for the child's whole
life and every descendant inherits them:

    WEZPARALLEL_ID=ws:name                  the process id
    WEZPARALLEL_SPAWN=DAEMON:BACKEND:TOKEN  whose daemon (a digest of its state dir), through
                                            which backend, and which start (a fresh token)

A restarted daemon reads /proc/PID/environ of its user's processes and takes back, or stops,
what carries its own mark. The environment a process was started with cannot be changed from
outside it (a program may overwrite its own copy in memory, which we then miss: a process
that does so and escapes its group is out of our reach, as it is for any supervisor).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from wezparallel.backends import procinfo

ID_VAR = "WEZPARALLEL_ID"
SPAWN_VAR = "WEZPARALLEL_SPAWN"


def daemon_mark(state_dir: Path) -> str:
    """One daemon's mark: its state dir, which no two daemons share."""
    return hashlib.sha256(os.fsencode(Path(state_dir).absolute())).hexdigest()[:16]


def environment(daemon: str, backend: str, token: str, pid: str) -> dict[str, str]:
    return {ID_VAR: pid, SPAWN_VAR: f"{daemon}:{backend}:{token}"}


@dataclass(frozen=True)
class Found:
    """The leader of one start: the oldest group leader carrying that start's token."""

    id: str
    pid: int
    create_time: float
    backend: str
    token: str


def find(daemon: str) -> list[Found]:
    """Every start of `daemon` that still has a live group leader, oldest first.

    A leader's descendants carry the same token; one that made itself a group leader too
    (`setsid`) is younger than the process we started, so the oldest leader per token is ours.
    """
    prefix = f"{SPAWN_VAR}={daemon}:".encode()
    leaders: dict[str, Found] = {}
    for pid in _pids():
        found = _marked_leader(pid, prefix)
        if found is not None and (found.token not in leaders
                                  or found.create_time < leaders[found.token].create_time):
            leaders[found.token] = found
    return sorted(leaders.values(), key=lambda f: f.create_time)


def _pids() -> list[int]:
    try:
        return [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return []


def _marked_leader(pid: int, prefix: bytes) -> Found | None:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            environ = f.read()
    except OSError:  # gone, another user's, or a kernel thread
        return None
    if prefix not in environ:
        return None
    values = dict(item.partition(b"=")[::2] for item in environ.split(b"\0") if item)
    spawn = values.get(SPAWN_VAR.encode(), b"").decode(errors="replace").split(":")
    ident = values.get(ID_VAR.encode())
    if len(spawn) != 3 or ident is None or procinfo.group_of(pid) != pid \
            or not procinfo.is_alive(pid):
        return None
    started = procinfo.create_time(pid)
    if started is None:
        return None
    return Found(ident.decode(errors="replace"), pid, started, spawn[1], spawn[2])
