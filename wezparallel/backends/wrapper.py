"""The daemon's side of the pane wrapper (`panewrap.py`), shared by the tmux and WezTerm backends.

A pane's program is started by a terminal server (tmux, WezTerm), not by us, so there is no
child to `wait()` for. Instead each pane runs `panewrap.py`, which writes a status file; we hold
a pidfd on the wrapper's pid (pidfd works for any pid, not only children) and read that file the
moment the pidfd turns readable. No polling, and no inotify.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import shutil
import signal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from wezparallel.backends.base import ExitCallback, Handle
from wezparallel.backends.panewrap import LAUNCH_MAGIC
from wezparallel.errors import SpawnError
from wezparallel.paths import ensure_private_dir
from wezparallel.plan.lifecycle import ExitInfo

log = logging.getLogger(__name__)

PANEWRAP = Path(__file__).with_name("panewrap.py")
KILL_GRACE = 5.0  # seconds to wait for an exit after SIGKILL before giving up on it
_TO_GROUP = (signal.SIGKILL, signal.SIGSTOP, signal.SIGCONT)  # a wrapper cannot forward these


def pane_command(status_file: Path, argv: Sequence[str],
                 env: Sequence[tuple[str, str]] = (), python: str = sys.executable,
                 cwd: str | None = None) -> list[str]:
    """The argv a pane runs: the wrapper and a launch file, nothing the user wrote (see
    `write_launch`). Environment goes through the file because neither `wezterm cli` nor a
    long-lived tmux server would otherwise give the pane the spec's variables."""
    return wrapper_command(write_launch(status_file, argv, env, cwd), python)


def wrapper_command(launch_file: Path, python: str = sys.executable) -> list[str]:
    return [python, "-I", "-S", str(PANEWRAP), "--launch", str(launch_file)]


def write_launch(status_file: Path, argv: Sequence[str], env: Sequence[tuple[str, str]] = (),
                 cwd: str | None = None) -> Path:
    """Write what the wrapper is to run to a new private file next to the status file; the
    wrapper deletes it once read. One file per attempt (a random name), so a pane that a hung
    terminal server starts late never picks up a later attempt's file."""
    fields = [LAUNCH_MAGIC, str(status_file), cwd or "", str(len(env)),
              *(f"{k}={v}" for k, v in env), *argv]
    if any("\0" in f for f in fields):
        raise SpawnError(f"{status_file.stem}: a NUL character in the command, environment "
                         "or working directory cannot be passed to a program")
    path = status_file.with_name(f"{status_file.stem}.{os.urandom(6).hex()}.launch")
    data = b"\0".join(os.fsencode(f) for f in fields)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    return path


def withdraw_launch(launch_file: Path) -> None:
    """Take back a launch file the wrapper has not read: a start we gave up on (the terminal
    server did not answer in time) must not run the program when the server wakes up."""
    launch_file.unlink(missing_ok=True)


@dataclass(frozen=True)
class WrapperStatus:
    """What the wrapper recorded: its own pid, its child's, and how the child ended."""

    wrapper: int
    pid: int
    exited: bool
    code: int | None = None
    signal: int | None = None

    def exit_info(self) -> ExitInfo:
        if not self.exited:
            return ExitInfo(known=False)
        return ExitInfo(code=self.code, signal=self.signal)


def read_status(path: Path) -> WrapperStatus | None:
    """None when the wrapper wrote nothing (yet), or something unreadable."""
    try:
        data = json.loads(path.read_text())
        return WrapperStatus(wrapper=int(data["wrapper"]), pid=int(data["pid"]),
                             exited=bool(data["exited"]), code=data.get("code"),
                             signal=data.get("signal"))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def create_time(pid: int) -> float | None:
    try:
        return float(psutil.Process(pid).create_time())
    except psutil.Error:
        return None


def same_process(pid: int, started: float | None) -> bool:
    """The pid is alive and (when we know when it started) still the same process."""
    if pid <= 0:
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return started is None or abs(proc.create_time() - started) < 0.05
    except psutil.Error:
        return False


@dataclass
class _Watched:
    handle: Handle
    status_file: Path
    done: asyncio.Event = field(default_factory=asyncio.Event)
    fd: int | None = None


class WrappedProcesses:
    """Processes running under panewrap: exit notification, signals and stop, per process id."""

    def __init__(self, on_exit: ExitCallback, state_dir: Path) -> None:
        self._on_exit = on_exit
        self._dir = state_dir / "panes"
        self._watched: dict[str, _Watched] = {}

    def status_path(self, process_id: str) -> Path:
        workspace, _, name = process_id.partition(":")
        return self._dir / workspace / f"{name}.json"

    def prepare(self, process_id: str) -> Path:
        """A fresh status file location: the previous run's record must not be mistaken for
        this one's."""
        path = self.status_path(process_id)
        ensure_private_dir(path.parent)
        path.unlink(missing_ok=True)
        for stale in path.parent.glob(f"{path.stem}.*.launch"):  # of starts given up on
            withdraw_launch(stale)
        return path

    def status(self, handle: Handle) -> WrapperStatus | None:
        status = read_status(self.status_path(handle.id))
        return status if status is not None and status.wrapper == handle.pid else None

    def child_pid(self, handle: Handle) -> int | None:
        status = self.status(handle)
        return status.pid if status is not None else None

    def watch(self, handle: Handle) -> None:
        """Report the wrapper's end through `on_exit`, once; must run on the event loop."""
        self.unwatch(handle.id)
        watched = self._watched[handle.id] = _Watched(handle, self.status_path(handle.id))
        loop = asyncio.get_running_loop()
        try:
            watched.fd = os.pidfd_open(handle.pid)
        except ProcessLookupError:
            loop.call_soon(self._ended, watched)
            return
        loop.add_reader(watched.fd, self._ended, watched)

    def watching(self, process_id: str) -> bool:
        w = self._watched.get(process_id)
        return w is not None and not w.done.is_set()

    def _ended(self, watched: _Watched) -> None:
        if watched.done.is_set():
            return
        self._release(watched)
        watched.done.set()
        status = read_status(watched.status_file)
        mine = status is not None and status.wrapper == watched.handle.pid
        info = status.exit_info() if status is not None and mine else ExitInfo(known=False)
        log.debug("%s: wrapper %d ended: %s", watched.handle.id, watched.handle.pid,
                  info.describe())
        self._on_exit(watched.handle, info)

    def _release(self, watched: _Watched) -> None:
        if watched.fd is not None:
            with contextlib.suppress(ValueError, RuntimeError):
                asyncio.get_running_loop().remove_reader(watched.fd)
            os.close(watched.fd)
            watched.fd = None

    def unwatch(self, process_id: str) -> None:
        watched = self._watched.pop(process_id, None)
        if watched is not None:
            self._release(watched)

    def signal(self, handle: Handle, signum: int) -> None:
        """Most signals go to the wrapper, which passes them to the program's group; those a
        wrapper cannot catch go to that group directly."""
        if handle.pid <= 0:
            return
        if signum in _TO_GROUP:
            child = self.child_pid(handle)
            if child is not None:
                with contextlib.suppress(OSError):
                    os.killpg(child, signum)
                return
        with contextlib.suppress(OSError):
            os.kill(handle.pid, signum)

    async def stop(self, handle: Handle, signum: int, timeout: float) -> None:
        watched = self._watched.get(handle.id)
        if watched is None or watched.handle.pid != handle.pid or watched.done.is_set():
            return
        for sig, wait in ((signum, timeout), (signal.SIGKILL, KILL_GRACE)):
            self.signal(handle, sig)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(watched.done.wait(), wait)
                return
        log.warning("%s: still running %.0fs after SIGKILL; killing its wrapper",
                    handle.id, KILL_GRACE)
        with contextlib.suppress(OSError):
            os.kill(handle.pid, signal.SIGKILL)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(watched.done.wait(), KILL_GRACE)

    def handles(self) -> Mapping[str, Handle]:
        return {k: w.handle for k, w in self._watched.items() if not w.done.is_set()}

    def close(self) -> None:
        for process_id in list(self._watched):
            self.unwatch(process_id)


def check_startable(spec_id: str, cwd: str, argv: Sequence[str],
                    env: Sequence[tuple[str, str]] = ()) -> None:
    """Refuse before any pane is made when the program or directory cannot work: a pane whose
    program fails at once is a FATAL state in disguise."""
    if not argv:
        raise SpawnError(f"{spec_id}: nothing to run (empty command)")
    if not os.path.isdir(cwd):
        raise SpawnError(f"{spec_id}: working directory {cwd} does not exist")
    path = dict(env).get("PATH", os.environ.get("PATH"))
    program = argv[0]
    if "/" in program:
        program = os.path.join(cwd, program)
    if shutil.which(program, path=path) is None:
        raise SpawnError(f"{spec_id}: program {argv[0]!r} not found (PATH or cwd {cwd})")


def strip_blank_tail(lines: list[str]) -> list[str]:
    """A screen is padded with empty rows below the last output; they are not output."""
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    return lines[:end]


def tail_lines(path: Path, lines: int) -> list[str]:
    """The last `lines` lines of a pane's log, terminal escapes removed (the log is a raw copy
    of what the program wrote to its terminal)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - max(lines, 1) * 400))
            data = f.read().decode(errors="replace")
    except OSError:
        return []
    text = _ESCAPES.sub("", data).replace("\r\n", "\n").replace("\r", "\n")
    return text.splitlines()[-lines:] if lines > 0 else []


_ESCAPES = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]"  # CSI
                      r"|\][^\x07\x1b]*(\x07|\x1b\\)"  # OSC
                      r"|[PX^_][^\x1b]*\x1b\\"  # DCS and friends
                      r"|.)")
