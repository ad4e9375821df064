"""Which backend runs a process, one live instance of each backend per daemon, and how each
is made (the tmux backend on the daemon's own server).

Backends are created on first use, so a daemon whose files only ask for headless processes
never starts a tmux server or looks for WezTerm.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from wezparallel.backends.base import Backend, ExitCallback
from wezparallel.errors import PermanentError
from wezparallel.paths import ensure_socket_dir
from wezparallel.spec.model import BackendName, ProcessSpec

BackendFactory = Callable[[ExitCallback], Backend]


class BackendRegistry:
    def __init__(self, factories: Mapping[str, BackendFactory], on_exit: ExitCallback,
                 auto: Callable[[], str]) -> None:
        """`auto` names the backend that `backend: auto` means on this machine."""
        self._factories = dict(factories)
        self._on_exit = on_exit
        self._auto = auto
        self._live: dict[str, Backend] = {}

    def name_for(self, spec: ProcessSpec) -> str:
        return self._auto() if spec.backend == BackendName.AUTO else spec.backend.value

    def for_spec(self, spec: ProcessSpec) -> Backend:
        return self.named(self.name_for(spec))

    def named(self, name: str) -> Backend:
        backend = self._live.get(name)
        if backend is None:
            factory = self._factories.get(name)
            if factory is None:
                raise PermanentError(f"backend '{name}' is not available in this daemon")
            backend = self._live[name] = factory(self._on_exit)
        return backend

    async def close(self, *, leave_running: bool) -> None:
        for backend in self._live.values():
            await backend.close(leave_running=leave_running)
        self._live.clear()


def _subprocess_factory(on_exit: ExitCallback) -> Backend:
    from wezparallel.backends.subprocess import SubprocessBackend

    return SubprocessBackend(on_exit)


def tmux_socket(state_dir: Path) -> Path:
    """The daemon's own tmux server: in the state dir, unless that path is too long for a
    Unix socket (about 107 bytes), then in the private per-user directory under /tmp, named
    after the state dir so two daemons never share a server."""
    path = state_dir / "tmux.sock"
    if len(os.fsencode(path.absolute())) < 100:
        return path
    digest = hashlib.sha256(os.fsencode(state_dir.absolute())).hexdigest()[:12]
    private = Path(f"/tmp/wezparallel-{os.getuid()}")
    ensure_socket_dir(private / f"tmux-{digest}.sock")
    return private / f"tmux-{digest}.sock"


def default_factories(state_dir: Path) -> dict[str, BackendFactory]:
    def tmux(on_exit: ExitCallback) -> Backend:
        from wezparallel.backends.tmux import TmuxBackend

        return TmuxBackend(on_exit, socket_path=tmux_socket(state_dir), state_dir=state_dir)

    def wezterm(on_exit: ExitCallback) -> Backend:
        from wezparallel.backends.wezterm import WezTermBackend

        return WezTermBackend(on_exit, state_dir=state_dir)

    return {"subprocess": _subprocess_factory, "tmux": tmux, "wezterm": wezterm}
