"""The one place that runs `tmux`.

Every tmux call of the project goes through `TmuxServer.run`, so the argv is logged at DEBUG in
one spot, the server socket is never forgotten (`-S SOCKET`: the daemon's own server, unless the
user asked for theirs) and failures become `BackendError`/`ProgramNotFound` right here.
Several tmux commands can be sent in one invocation, separated by `SEP`: the server runs them
back to back, which is both faster (one client process) and atomic with respect to pane exits.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from wezparallel.errors import BackendError, ProgramNotFound

log = logging.getLogger(__name__)

SEP = ";"
"""Separates tmux commands inside one invocation."""

TIMEOUT = 15.0  # seconds a single tmux client may take before we call the server stuck

_NO_SERVER = ("no server running", "error connecting to", "no sessions")


@dataclass(frozen=True)
class TmuxServer:
    """Which tmux server to talk to: `socket_path` None means the user's default server."""

    socket_path: Path | None
    program: str = "tmux"

    def argv(self, *args: str) -> list[str]:
        sock = ["-S", str(self.socket_path)] if self.socket_path is not None else []
        return [self.program, *sock, *args]

    def run(self, *args: str, check: bool = True, stdin: str | None = None) -> str:
        """Run one tmux client and return its stdout; raise BackendError when it fails.

        `stdin` is what `load-buffer -` reads: the way to hand tmux text that must not pass
        its command parser (an argument ending in `;` ends a command there)."""
        argv = self.argv(*args)
        log.debug("tmux: %s", argv)
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT,
                                  input=stdin,
                                  stdin=subprocess.DEVNULL if stdin is None else None,
                                  env=_client_env(self.socket_path is not None))
        except FileNotFoundError:
            raise ProgramNotFound(self.program, "install tmux, or use backend: subprocess")\
                from None
        except subprocess.TimeoutExpired:
            raise BackendError(self.program, argv, -1,
                               f"no answer within {TIMEOUT:.0f}s from the tmux server") from None
        if check and done.returncode != 0:
            raise BackendError(self.program, argv, done.returncode, done.stderr)
        return done.stdout

    def alive(self) -> bool:
        """True when a server answers on the socket (a missing server is not an error)."""
        try:
            self.run("list-sessions", "-F", "#{session_name}")
        except BackendError as exc:
            if isinstance(exc, ProgramNotFound) or not _is_no_server(exc.stderr):
                raise
            return False
        return True

    def installed(self) -> bool:
        return shutil.which(self.program) is not None


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
