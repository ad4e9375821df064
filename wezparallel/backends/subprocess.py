"""The headless backend: each process a direct child in its own session, output to a log file.

Every child gets its own session and process group (`setsid`), so one `killpg` reaches
everything it started, and a terminal's Ctrl-C or the daemon's own death does not. Its output
goes straight to a log file (see `logfile`), so it keeps running when the daemon goes away and
can be adopted by the next one.

Exits are events: a pidfd per process on the event loop (see `procwatch`). When a group leader
ends, what is left of its group is killed at once (before the leader is reaped, while its pid
cannot be reused), so nothing it started is orphaned; what left the group (`setsid`) is found
through the daemon being a subreaper and ended too (see `escapees`).

`subprocess.Popen` is used only for its fork/exec (vfork, close_fds, the error pipe that turns a
failed exec into an exception in the parent). We reap through the pidfd ourselves, so each Popen
object is detached right after the fork: it must neither reap our child behind our back
(`subprocess._cleanup` does so for forgotten Popens) nor warn that it is "still running".
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import logging
import os
import signal as signals
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from wezparallel.backends import escapees, logfile, procinfo
from wezparallel.backends.base import ExitCallback, Handle
from wezparallel.backends.procwatch import PidWatch
from wezparallel.errors import OutOfResources, SpawnError, WezparallelError
from wezparallel.spec.model import ProcessSpec

log = logging.getLogger(__name__)

KILL_GRACE = 5.0  # seconds to wait for the end after SIGKILL before giving up on a process


@dataclass
class _Watched:
    handle: Handle
    watch: PidWatch | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


class SubprocessBackend:
    name = "subprocess"

    def __init__(self, on_exit: ExitCallback, *,
                 loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._on_exit = on_exit
        self._loop = loop
        self._watched: dict[int, _Watched] = {}  # by pid

    # --- starting ------------------------------------------------------------------------------

    async def spawn(self, spec: ProcessSpec, argv: tuple[str, ...], log_path: Path) -> Handle:
        if not argv:
            raise SpawnError(f"{spec.id}: nothing to run (empty command)")
        try:
            out = logfile.open_for_child(log_path)
        except OSError as exc:
            raise _failure(exc, f"{spec.id}: cannot open log file {log_path}") from exc
        try:
            started = procinfo.create_time_of_fork_now()
            pid = _fork_exec(spec, argv, out)
        except OSError as exc:  # reading /proc for the start time (EMFILE)
            raise _failure(exc, f"{spec.id}: cannot read the clock in /proc") from exc
        finally:
            os.close(out)
        handle = Handle(spec.id, pid, self.name, started)
        try:
            self._watch(handle)
        except OSError as exc:  # EMFILE: one pidfd per process counts against RLIMIT_NOFILE
            _kill_group(pid, signals.SIGKILL)
            os.waitpid(pid, 0)
            raise _failure(exc, f"{spec.id}: cannot watch the started process") from exc
        log.debug("%s: started pid %d: %s", spec.id, pid, argv)
        return handle

    def adopt(self, handle: Handle) -> bool:
        if not procinfo.is_same_process(handle.pid, handle.create_time):
            return False
        current = self._watched.get(handle.pid)
        if current is not None and not current.done.is_set():
            return current.handle.id == handle.id
        if not self._watch(handle):
            return False
        # The pidfd now pins one process; if the pid changed owner between the check above and
        # pidfd_open, the start time no longer matches and we let go of the stranger.
        if not procinfo.is_same_process(handle.pid, handle.create_time):
            self._unwatch(handle.pid)
            return False
        return True

    def _watch(self, handle: Handle) -> bool:
        watched = _Watched(handle)
        try:
            watched.watch = PidWatch(self._event_loop(), handle.pid,
                                     lambda _w: self._ended(watched))
        except ProcessLookupError:
            return False
        self._watched[handle.pid] = watched
        return True

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    # --- ending --------------------------------------------------------------------------------

    def _ended(self, watched: _Watched) -> None:
        """The leader is gone: kill its group's rest, reap, report once."""
        if watched.done.is_set() or watched.watch is None:
            return
        handle = watched.handle
        # Still unreaped, so the pid (the group's id) cannot have been reused yet.
        _kill_group(handle.pid, signals.SIGKILL)
        escapees.end_orphans(handle.id, self._event_loop(), frozenset(self._watched))
        info = watched.watch.reap()
        self._unwatch(handle.pid)
        log.debug("%s: pid %d ended: %s", handle.id, handle.pid, info.describe())
        self._on_exit(handle, info)

    def _unwatch(self, pid: int) -> None:
        watched = self._watched.pop(pid, None)
        if watched is None:
            return
        if watched.watch is not None:
            watched.watch.close()
        watched.done.set()

    def signal(self, handle: Handle, signum: int) -> None:
        if self._owns(handle):
            _kill_group(handle.pid, signum)

    async def stop(self, handle: Handle, signum: int, timeout: float) -> None:
        watched = self._watched.get(handle.pid)
        if watched is None or watched.handle.id != handle.id:
            return  # already ended (and reported), or never ours
        for sig, wait in ((signum, timeout), (signals.SIGKILL, KILL_GRACE)):
            _kill_group(handle.pid, sig)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(watched.done.wait(), wait)
                return
        log.warning("%s: pid %d still there %.0fs after SIGKILL (uninterruptible sleep?)",
                    handle.id, handle.pid, KILL_GRACE)

    def _owns(self, handle: Handle) -> bool:
        """Signals go only to a group we know is this handle's: a stale handle's pid may be
        somebody else's by now."""
        watched = self._watched.get(handle.pid)
        if watched is not None:
            return watched.handle.id == handle.id and not watched.done.is_set()
        return procinfo.is_same_process(handle.pid, handle.create_time)

    # --- output and shutdown -------------------------------------------------------------------

    def read_output(self, handle: Handle | None, log_path: Path, lines: int) -> list[str]:
        return logfile.tail(log_path, lines)

    async def close(self, *, leave_running: bool = False) -> None:
        """Let go of every pidfd. Nothing is killed here either way: the runtime stops what it
        wants stopped before closing, and `leave_running` keeps the rest alive for the next
        daemon to adopt."""
        for pid in list(self._watched):
            self._unwatch(pid)


def _fork_exec(spec: ProcessSpec, argv: tuple[str, ...], out: int) -> int:
    """Start `argv` in its own session, stdin from /dev/null, output to `out`; the pid.

    The environment is built from `os.environb`, the bytes Popen hands to exec anyway, so the
    daemon's own variables are not decoded and encoded again at every start."""
    env = {**os.environb, **{os.fsencode(k): os.fsencode(v) for k, v in spec.env_dict.items()},
           _MARKER: os.fsencode(spec.id)}
    try:
        proc = subprocess.Popen(argv, cwd=spec.cwd, env=env, stdin=_devnull(),
                                stdout=out, stderr=out, start_new_session=True,
                                close_fds=True)
    except OSError as exc:
        if exc.errno in _SHORTAGES:
            raise _failure(exc, f"{spec.id}: cannot start {argv[0]!r}") from exc
        raise SpawnError(_spawn_error_message(spec, argv, exc)) from exc
    proc.returncode = 0  # detached: we reap it through its pidfd (see the module docstring)
    return proc.pid


_SHORTAGES = frozenset({errno.EMFILE, errno.ENFILE, errno.EAGAIN, errno.ENOMEM})
_MARKER = os.fsencode(escapees.MARKER)


@functools.cache
def _devnull() -> int:
    """/dev/null, opened once for every child's stdin (close-on-exec: each child gets its
    own copy as fd 0), instead of once per start."""
    return os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)


def _failure(exc: OSError, what: str) -> WezparallelError:
    """A shortage of the system's (file descriptors, processes, memory) passes: retried with
    backoff. Anything else about the files involved will not fix itself."""
    cls = OutOfResources if exc.errno in _SHORTAGES else SpawnError
    return cls(f"{what}: {exc.strerror or exc}")


def _spawn_error_message(spec: ProcessSpec, argv: tuple[str, ...], exc: OSError) -> str:
    where = f"(cwd {spec.cwd})"
    if not os.path.isdir(spec.cwd):
        return f"{spec.id}: working directory {spec.cwd} does not exist or is not a directory"
    if exc.filename == spec.cwd:
        return f"{spec.id}: cannot enter working directory {spec.cwd}: {exc.strerror}"
    if isinstance(exc, FileNotFoundError):
        return f"{spec.id}: no such program {argv[0]!r} {where}"
    if isinstance(exc, PermissionError):
        return f"{spec.id}: permission denied running {argv[0]!r} {where}"
    return f"{spec.id}: cannot run {argv[0]!r} {where}: {exc.strerror or exc}"


def _kill_group(pgid: int, signum: int) -> None:
    """Signal a whole process group; one already gone is not an error."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)
