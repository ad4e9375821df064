"""The control socket as a file: bound 0600, a stale one left by a dead daemon replaced, a live
one refused, the uid of whoever connects, and whether there are file descriptors to spare for
one more client. Kept apart from the connection handling in
`server`, which knows only frames and replies."""

from __future__ import annotations

import errno
import logging
import os
import resource
import socket
import stat
import struct
from pathlib import Path
from typing import Any

from wezparallel.errors import IpcError

log = logging.getLogger(__name__)

_UCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid
FD_RESERVE = 64  # file descriptors no client may take: starting a process needs a few


def peer_allowed(peer_uid: int | None, own_uid: int) -> bool:
    """Only our own user may drive the daemon; an unknown uid (no SO_PEERCRED) is left to the
    0700 directory, which already keeps other users from reaching the socket."""
    return peer_uid is None or peer_uid == own_uid


def peer_uid(sock: Any) -> int | None:
    """The uid of the process on the other end of a Unix socket (Linux SO_PEERCRED)."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None or sock is None:
        return None
    _pid, uid, _gid = _UCRED.unpack(sock.getsockopt(socket.SOL_SOCKET, option, _UCRED.size))
    return int(uid)


def listening_socket(path: Path) -> socket.socket:
    """Bind and listen, mode 0600; EADDRINUSE means a live daemon (refuse) or a stale file."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        try:
            sock.bind(str(path))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise IpcError(f"cannot create the control socket {path}: {exc}") from None
            _remove_stale(path)
            sock.bind(str(path))
        os.chmod(path, 0o600)
        sock.listen(128)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def _remove_stale(path: Path) -> None:
    if not stat.S_ISSOCK(os.lstat(path).st_mode):
        raise IpcError(f"{path} exists and is not a socket; remove it or choose another --socket")
    if _answers(path):
        raise IpcError(f"another wezparallel daemon is already running on {path}; stop it with "
                       f"`wezparctl --socket {path} shutdown` or choose another --socket")
    log.info("replacing the stale socket %s left by a daemon that is gone", path)
    os.unlink(path)


def _answers(path: Path) -> bool:
    """Whether something listens on the socket file (a refused connect means a stale file)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(2.0)
        try:
            probe.connect(str(path))
        except (ConnectionRefusedError, FileNotFoundError):
            return False
        except OSError:
            return True  # a full backlog or a timeout: somebody is there
        return True


def fds_short() -> str | None:
    """Why no more clients fit in the open-files limit: FD_RESERVE are kept for starting
    processes (issue 16.11)."""
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    try:
        in_use = len(os.listdir("/proc/self/fd"))
    except OSError:  # EMFILE already
        in_use = limit
    if limit != resource.RLIM_INFINITY and in_use > limit - FD_RESERVE:
        return (f"the daemon has {in_use} of its {limit} file descriptors open and keeps "
                f"{FD_RESERVE} for starting processes; try again")
    return None
