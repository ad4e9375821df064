"""Knowing the moment a process ends, without polling and without owning every child.

A pidfd (Linux 5.3+) turns readable when its process ends, whoever its parent is, so the same
mechanism serves the children we spawned and the ones an earlier daemon spawned and we adopted.
The event loop watches it like a socket: a crash is answered in the same loop iteration.

asyncio's own child watchers are not used: the default one spends a thread per child, and the
SIGCHLD ones reap with `waitpid(-1)`, stealing other components' children.

Reaping goes through the pidfd too (`waitid(P_PIDFD)`): it names exactly the process the pidfd
was opened on, so a reused pid can never hand us a stranger's status. A process that is not our
child (adopted) cannot be reaped by us; its status is then unknowable and reported as such.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable

from wezparallel.plan.lifecycle import ExitInfo


class PidWatch:
    """Calls `on_end` once, on the loop, when the process `pid` ends.

    Raises ProcessLookupError when there is no such process; a zombie (ended, not yet reaped)
    is accepted and reported at once, since its pidfd is readable from the start.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, pid: int,
                 on_end: Callable[[PidWatch], None]) -> None:
        self.pid = pid
        self._loop = loop
        self._on_end = on_end
        self.fd: int | None = os.pidfd_open(pid)
        loop.add_reader(self.fd, self._fire)

    @property
    def active(self) -> bool:
        return self.fd is not None

    def _fire(self) -> None:
        if self.fd is None:
            return
        self._on_end(self)

    def reap(self) -> ExitInfo:
        """Collect the exit status if the process is our child; unknown otherwise."""
        if self.fd is None:
            return ExitInfo(known=False)
        return reap_pidfd(self.fd)

    def close(self) -> None:
        """Stop watching; safe to call more than once and after the loop has closed."""
        fd, self.fd = self.fd, None
        if fd is None:
            return
        if not self._loop.is_closed():
            with contextlib.suppress(ValueError, RuntimeError):
                self._loop.remove_reader(fd)
        os.close(fd)


def reap_pidfd(fd: int) -> ExitInfo:
    """Reap the (ended) process behind `fd` if it is our child and report how it ended."""
    try:
        result = os.waitid(os.P_PIDFD, fd, os.WEXITED | os.WNOHANG)
    except ChildProcessError:
        return ExitInfo(known=False)  # not our child: its parent (init) reaps it
    if result is None:
        return ExitInfo(known=False)  # not ended after all (spurious readiness)
    return exit_info_from_siginfo(result.si_code, result.si_status)


def exit_info_from_siginfo(si_code: int, si_status: int) -> ExitInfo:
    """`waitid` says CLD_EXITED with an exit code, or CLD_KILLED/CLD_DUMPED with a signal."""
    if si_code == os.CLD_EXITED:
        return ExitInfo(code=si_status)
    if si_code in (os.CLD_KILLED, os.CLD_DUMPED):
        return ExitInfo(signal=si_status)
    return ExitInfo(known=False)
