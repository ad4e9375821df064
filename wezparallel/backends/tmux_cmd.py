"""The one place that runs `tmux`.

Every tmux call of the project goes through `TmuxServer.run`, so the argv is logged at DEBUG in
one spot, the server socket is never forgotten (`-S SOCKET`: the daemon's own server, unless the
user asked for theirs) and failures become `BackendError`/`ProgramNotFound` right here.
Several tmux commands can be sent in one invocation, separated by `SEP`: the server runs them
back to back, which is both faster (one client process) and atomic with respect to pane exits.

Calls are asynchronous and bounded by a timeout: a tmux server that hangs (stopped, swapping,
wedged) costs the caller that timeout, never the event loop, so the control socket and the
other backends keep answering. The client of a call that timed out is killed.

Text is never trusted to tmux's parsers. On the command line tmux reads an argument that ends
in `;` as the end of a command, so every argument except a real `SEP` is escaped here (`x;`
becomes `x\\;`, which tmux turns back into `x;`): a user's value can neither end a command nor
start one. Some arguments are formats as well (`-c`, `pipe-pane`'s command, `-F`, `-s`);
those take `format_literal(text)` at their call site, since only the caller knows which.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from wezparallel.errors import BackendError, ProgramNotFound

log = logging.getLogger(__name__)


class _Separator(str):
    """The one `;` that is meant as tmux's command separator (any other is escaped)."""

    __slots__ = ()


SEP = _Separator(";")
"""Separates tmux commands inside one invocation."""

TIMEOUT = 15.0  # seconds a single tmux client may take before we call the server stuck
REAP_GRACE = 2.0  # seconds to wait for a killed client's exit to be reported

_NO_SERVER = ("no server running", "error connecting to", "no sessions",
              "server exited unexpectedly")  # asked while it was shutting down


def escape_arg(arg: str) -> str:
    """`arg` as tmux's command-line parser must see it to hand back exactly `arg`."""
    if isinstance(arg, _Separator):
        return arg
    return arg[:-1] + "\\;" if arg.endswith(";") else arg


def format_literal(text: str) -> str:
    """`text` for an argument tmux expands as a format: `#` starts a format (`#(cmd)` runs a
    shell command), `##` is a literal `#`."""
    return text.replace("#", "##")


def append_command(path: Path) -> str:
    """The `pipe-pane` command that appends a pane's output to `path`. tmux expands it as a
    format and then hands it to `sh -c`: quoted for the shell first, then for the format."""
    return format_literal(f"cat >> {shlex.quote(str(path))}")


@dataclass(frozen=True)
class TmuxServer:
    """Which tmux server to talk to: `socket_path` None means the user's default server."""

    socket_path: Path | None
    program: str = "tmux"
    timeout: float = TIMEOUT

    def argv(self, *args: str) -> list[str]:
        sock = ["-S", str(self.socket_path)] if self.socket_path is not None else []
        return [self.program, *sock, *map(escape_arg, args)]

    async def run(self, *args: str, check: bool = True, stdin: str | None = None) -> str:
        """Run one tmux client and return its stdout; raise BackendError when it fails or
        gets no answer within `timeout`.

        `stdin` is what `load-buffer -` reads: the way to hand tmux text that must not pass
        its command parser at all."""
        argv = self.argv(*args)
        log.debug("tmux: %s", argv)
        out, err = os.memfd_create("tmux-out"), os.memfd_create("tmux-err")
        given = _memfd_with(stdin) if stdin is not None else subprocess.DEVNULL
        try:
            code = await self._client(argv, given, out, err)
            stdout, stderr = _read_all(out), _read_all(err)
        finally:
            for fd in (out, err) if stdin is None else (out, err, given):
                os.close(fd)
        if check and code != 0:
            raise BackendError(self.program, argv, code, stderr)
        return stdout

    async def _client(self, argv: list[str], stdin: int, out: int, err: int) -> int:
        """The client's exit code. Its input and output are files, not pipes: a client hands
        its stdio to the server, so a stopped server would hold a pipe open, and waiting for
        its end (or writing into it) would hang as long as the server does."""
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdin=stdin, stdout=out, stderr=err,
                env=_client_env(self.socket_path is not None))
        except FileNotFoundError:
            raise ProgramNotFound(self.program, "install tmux, or use backend: subprocess")\
                from None
        try:
            return await asyncio.wait_for(proc.wait(), self.timeout)
        except TimeoutError:
            raise BackendError(self.program, argv, -1, f"no answer within "
                               f"{self.timeout:g}s from the tmux server") from None
        finally:
            if proc.returncode is None:  # timed out or cancelled: no client left behind
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                try:  # bounded: a loop shutting down may never report the exit
                    await asyncio.wait_for(asyncio.shield(proc.wait()), REAP_GRACE)
                except TimeoutError:
                    log.warning("tmux client %d: no exit reported %.0fs after SIGKILL",
                                proc.pid, REAP_GRACE)

    async def alive(self) -> bool:
        """True when a server answers on the socket (a missing server is not an error)."""
        try:
            await self.run("list-sessions", "-F", "#{session_name}")
        except BackendError as exc:
            if isinstance(exc, ProgramNotFound) or not _is_no_server(exc.stderr):
                raise
            return False
        return True

    def installed(self) -> bool:
        return shutil.which(self.program) is not None


def _memfd_with(text: str) -> int:
    fd = os.memfd_create("tmux-in")
    os.write(fd, text.encode())
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _read_all(fd: int) -> str:
    size = os.fstat(fd).st_size
    return os.pread(fd, size, 0).decode(errors="replace") if size else ""


def is_no_server(exc: BackendError) -> bool:
    """The error says no server/session exists, as opposed to a real failure."""
    return _is_no_server(exc.stderr)


def _is_no_server(stderr: str) -> bool:
    return any(s in stderr for s in _NO_SERVER)


def _client_env(own_socket: bool) -> dict[str, str] | None:
    """Inside a tmux pane `$TMUX` names the user's server; with our own socket it only gets in
    the way (nested-session checks), with the user's server it is exactly the one we want."""
    if not own_socket:
        return None
    env = dict(os.environ)
    env.pop("TMUX", None)
    env.pop("TMUX_PANE", None)
    return env
