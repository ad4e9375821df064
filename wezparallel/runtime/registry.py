"""Which backend runs a process, and one live instance of each backend per daemon.

Backends are created on first use, so a daemon whose files only ask for headless processes
never starts a tmux server or looks for WezTerm.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from wezparallel.backends.base import Backend, ExitCallback
from wezparallel.errors import PermanentError
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
