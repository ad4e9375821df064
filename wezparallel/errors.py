"""The project's one exception tree.

Everything wezparallel raises on purpose derives from `WezparallelError`, so callers (the CLI,
the socket handlers) can turn any of them into a clean message and an exit code, and anything
else reaching them is a bug worth a traceback.

    WezparallelError
    ├── ConfigError            one or more located problems in workspace files
    ├── PermanentError         retrying cannot help (missing binary, bad cwd, not a git repo)
    │   └── SpawnError
    ├── TemporaryError         may succeed later (a busy pane server, a slow mux)
    │   └── OutOfResources     the system ran out of file descriptors, processes or memory
    ├── BackendError           an external program (tmux, wezterm, git) failed
    │   └── ProgramNotFound
    ├── IpcError               the socket protocol went wrong
    │   ├── DaemonUnreachable  nobody answers on the socket
    │   └── RemoteError        the daemon answered with an error object
    └── StateError             the persisted runtime state is unusable
"""

from __future__ import annotations

from dataclasses import dataclass


class WezparallelError(Exception):
    """Root of every error wezparallel raises deliberately."""


@dataclass(frozen=True)
class Problem:
    """One located configuration problem, printed as `file:line:col: message`.

    Lines and columns are 1-based, the way compilers and editors count, so the output can be
    clicked in a terminal and annotated by CI.
    """

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"

    def to_json(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "column": self.column,
                "message": self.message}


class ConfigError(WezparallelError):
    """Workspace files are invalid; carries every problem found in one pass."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems) or "invalid configuration")


class PermanentError(WezparallelError):
    """Retrying will not help until the user changes something."""


class SpawnError(PermanentError):
    """A process could not be started at all (no such program, no such directory)."""


class TemporaryError(WezparallelError):
    """The operation may succeed if tried again later."""


class OutOfResources(TemporaryError):
    """EMFILE, ENFILE, EAGAIN, ENOMEM: a start that fails for these is retried with backoff,
    never made FATAL, since the shortage is the system's state, not the process's config."""


class BackendError(WezparallelError):
    """An external program the backend drives failed.

    Built from its fields so that messages are uniform and pinned by tests.
    """

    def __init__(self, program: str, argv: list[str] | tuple[str, ...], returncode: int,
                 stderr: str) -> None:
        self.program = program
        self.argv = tuple(argv)
        self.returncode = returncode
        self.stderr = stderr.strip()
        detail = f": {self.stderr}" if self.stderr else ""
        super().__init__(f"{program} exited {returncode}{detail}")


class ProgramNotFound(BackendError):
    """The external program is not installed or not on PATH."""

    def __init__(self, program: str, hint: str = "") -> None:
        self.hint = hint
        BackendError.__init__(self, program, (program,), 127, "")
        self.args = (f"{program}: not found on PATH" + (f" ({hint})" if hint else ""),)

    def __str__(self) -> str:
        return str(self.args[0])


class IpcError(WezparallelError):
    """The control socket protocol failed."""


class DaemonUnreachable(IpcError):
    """No daemon answers on the socket."""

    def __init__(self, socket_path: str, reason: str) -> None:
        self.socket_path = socket_path
        self.reason = reason
        super().__init__(
            f"no wezparallel daemon answers on {socket_path} ({reason}); "
            "start one with `wezparallel` (or `make run` in a checkout)"
        )


class RemoteError(IpcError):
    """The daemon answered a request with an error object."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(message)


class StateError(WezparallelError):
    """Persisted runtime state could not be read or written."""
