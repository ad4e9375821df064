"""An alarm that rings on the first write into some directories, and only the first.

The log rotator must notice a log that starts to grow, but polling sizes every 2 s is what kept
an idle daemon waking up for nothing (on the build machines a wake-up of a sleeping Python
process costs several milliseconds of CPU whatever it then does). inotify tells us of the first
write without polling; watching every write would be worse than polling under a flood (one
event per `write(2)`), so each watch is armed with IN_ONESHOT: the kernel removes it after its
first event, the rotator polls while logs grow and re-arms once they are quiet again.

Linux only, through libc (the standard library has no inotify binding; watchdog's is made for
its own observers, with one event per write). Elsewhere, or when the kernel refuses an inotify
instance, `WriteAlarm.open()` returns None and the rotator keeps polling.
"""

from __future__ import annotations

import asyncio
import ctypes
import errno
import logging
import os
import sys
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)

IN_MODIFY = 0x00000002  # a file in the directory was written or truncated
IN_CREATE = 0x00000100  # a file or directory was created in it
IN_ONESHOT = 0x80000000  # the watch is removed after its first event
MASK = IN_MODIFY | IN_CREATE | IN_ONESHOT


class WriteAlarm:
    """One inotify instance; `arm(dirs)` then `wait(timeout)`, as often as needed."""

    def __init__(self, fd: int, libc: ctypes.CDLL) -> None:
        self._fd = fd
        self._libc = libc

    @classmethod
    def open(cls) -> WriteAlarm | None:
        if not sys.platform.startswith("linux"):
            return None
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            init = libc.inotify_init1
        except (OSError, AttributeError):
            return None
        init.argtypes = [ctypes.c_int]
        init.restype = ctypes.c_int
        add = libc.inotify_add_watch
        add.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        add.restype = ctypes.c_int
        fd = init(os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:  # the per-user limit of inotify instances, most likely
            log.info("log rotation polls: no inotify instance (%s)",
                     os.strerror(ctypes.get_errno()))
            return None
        return cls(fd, libc)

    def arm(self, dirs: Iterable[Path]) -> None:
        """Forget what rang before, then watch `dirs` for their next write or creation. For a
        directory that does not exist yet, its nearest existing ancestor is watched, so that
        the alarm rings when the directory appears."""
        self._drain()
        for directory in {_existing(d) for d in dirs}:
            if self._libc.inotify_add_watch(self._fd, os.fsencode(directory), MASK) < 0:
                code = ctypes.get_errno()
                if code not in (errno.ENOENT, errno.ENOTDIR):  # else: nothing to watch there
                    log.debug("cannot watch %s: %s", directory, os.strerror(code))

    async def wait(self, timeout: float) -> bool:
        """True when something was written since `arm`, False after `timeout` seconds."""
        loop = asyncio.get_running_loop()
        rang: asyncio.Future[None] = loop.create_future()

        def ring() -> None:
            if not rang.done():
                rang.set_result(None)

        loop.add_reader(self._fd, ring)
        try:
            await asyncio.wait_for(rang, timeout)
            return True
        except TimeoutError:
            return False
        finally:
            loop.remove_reader(self._fd)

    def _drain(self) -> None:
        while True:
            try:
                if not os.read(self._fd, 65536):
                    return
            except BlockingIOError:
                return

    def close(self) -> None:
        os.close(self._fd)


def _existing(directory: Path) -> Path:
    while not directory.is_dir() and directory.parent != directory:
        directory = directory.parent
    return directory
