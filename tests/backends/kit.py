"""A small kit for driving the subprocess backend against real processes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from wezparallel.backends import procinfo
from wezparallel.backends.base import Handle
from wezparallel.backends.subprocess import SubprocessBackend
from wezparallel.plan.lifecycle import ExitInfo
from wezparallel.spec.model import ProcessSpec

T = TypeVar("T")
WAIT = 15.0  # seconds: generous, the machine is small and shared


def run(scenario: Callable[[], Awaitable[T]], timeout: float = 60.0) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(scenario(), timeout)
    return asyncio.run(bounded())


class Exits:
    """The backend's `on_exit`, recording what it is told, awaitable."""

    def __init__(self) -> None:
        self.seen: list[tuple[Handle, ExitInfo]] = []
        self._queue: asyncio.Queue[tuple[Handle, ExitInfo]] = asyncio.Queue()

    def __call__(self, handle: Handle, info: ExitInfo) -> None:
        self.seen.append((handle, info))
        self._queue.put_nowait((handle, info))

    async def next(self, timeout: float = WAIT) -> tuple[Handle, ExitInfo]:
        return await asyncio.wait_for(self._queue.get(), timeout)


def make_backend() -> tuple[SubprocessBackend, Exits]:
    exits = Exits()
    return SubprocessBackend(exits), exits


def spec(cwd: Path, name: str = "p", env: dict[str, str] | None = None) -> ProcessSpec:
    return ProcessSpec("t", name, cwd=str(cwd), env=tuple(sorted((env or {}).items())))


def sh(script: str) -> tuple[str, ...]:
    return ("/bin/sh", "-c", script)


async def wait_for_text(path: Path, text: str, timeout: float = WAIT) -> str:
    """Until the log holds `text` (the child has got that far); real-process polling."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        content = path.read_text() if path.exists() else ""
        if text in content:
            return content
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{path} never contained {text!r}; it has {content!r}")
        await asyncio.sleep(0.02)


def is_our_child(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return False
    return True


def start_stranger(script: str) -> Handle:
    """A process in its own session whose parent has already exited: not our child, like the
    children of a daemon that was killed. Returned as the handle that daemon would have saved."""
    helper = (
        "import subprocess, sys\n"
        f"p = subprocess.Popen(['/bin/sh', '-c', {script!r}], start_new_session=True,\n"
        "                      stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,\n"
        "                      stderr=subprocess.DEVNULL)\n"
        "print(p.pid, flush=True)\n"
        "p.returncode = 0\n"
    )
    out = subprocess.run([sys.executable, "-c", helper], capture_output=True, text=True,
                         timeout=WAIT, check=True)
    pid = int(out.stdout)
    return Handle("t:adopted", pid, "subprocess", procinfo.create_time(pid))
