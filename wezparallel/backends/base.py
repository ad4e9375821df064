"""The one small protocol every backend implements.

The runtime decides; a backend only does: spawn a program, signal it, stop it, tell when it
ended, and show what it printed. Exits are pushed through the `on_exit` callback the runtime
hands in at construction, the moment the backend learns of them (pidfd, a wrapper's report),
never discovered by a polling interval in the runtime.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

from wezparallel.plan.lifecycle import ExitInfo
from wezparallel.spec.model import ProcessSpec


@dataclass(frozen=True)
class Handle:
    """Enough to find a running process again, also from a restarted daemon.

    `create_time` (seconds since the epoch, from /proc) guards against pid reuse: a pid whose
    process started at another time is somebody else's.
    """

    id: str
    pid: int
    backend: str
    create_time: float | None = None
    pane: str | None = None

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "pid": self.pid, "backend": self.backend,
                "create_time": self.create_time, "pane": self.pane}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Handle:
        ct = data.get("create_time")
        pane = data.get("pane")
        return cls(id=str(data["id"]), pid=int(data["pid"]),  # type: ignore[call-overload]
                   backend=str(data["backend"]),
                   create_time=float(ct) if isinstance(ct, (int, float)) else None,
                   pane=str(pane) if pane is not None else None)


ExitCallback = Callable[[Handle, ExitInfo], None]
"""Called once per ended process, on the event loop thread."""


class Backend(Protocol):
    name: str

    async def spawn(self, spec: ProcessSpec, argv: tuple[str, ...], log_path: Path) -> Handle:
        """Start `argv` for `spec` (cwd, env, placement from the spec); raise SpawnError when it
        cannot start at all. Output goes to `log_path`."""

    def signal(self, handle: Handle, signum: int) -> None:
        """Send `signum` to the process's whole group; a process already gone is not an error."""

    async def stop(self, handle: Handle, signum: int, timeout: float) -> None:
        """Send `signum`, then SIGKILL after `timeout` seconds; return once it is gone.
        The exit is still reported through `on_exit`."""

    def adopt(self, handle: Handle) -> bool:
        """Watch a process started by an earlier daemon; False when it is gone or the pid now
        belongs to another process."""

    def read_output(self, handle: Handle | None, log_path: Path,
                    lines: int) -> list[str] | Awaitable[list[str]]:
        """The last `lines` lines the process printed (awaitable where a terminal server
        is asked: see `resolved`)."""

    async def close(self, *, leave_running: bool = False) -> None:
        """Release watchers (and, for pane backends, sessions that are now empty)."""


T = TypeVar("T")


async def resolved(value: T | Awaitable[T]) -> T:
    """A backend method's answer, given at once or awaitable. Backends that ask an outside
    program (tmux) answer asynchronously, so a hung program never blocks the event loop;
    callers take both forms through this one function."""
    if inspect.isawaitable(value):
        return await value
    return value
