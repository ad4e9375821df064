"""Real tmux servers, one per test on a private socket, and an exit recorder for backends."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support import retry_until, short_tmpdir
from wezparallel.backends.base import Handle
from wezparallel.plan.lifecycle import ExitInfo
from wezparallel.spec.model import Layout, PaneSpec, ProcessSpec


@dataclass
class Exits:
    """Collects `on_exit` calls; `wait` polls on the event loop with a deadline."""

    seen: list[tuple[Handle, ExitInfo]] = field(default_factory=list)

    def __call__(self, handle: Handle, info: ExitInfo) -> None:
        self.seen.append((handle, info))

    async def wait(self, handle: Handle, timeout: float = 15.0) -> ExitInfo:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for h, info in self.seen:
                if h == handle:
                    return info
            await asyncio.sleep(0.01)
        raise AssertionError(f"no exit reported for {handle} within {timeout}s")


@dataclass(frozen=True)
class Box:
    """A private directory: tmux socket, state dir and a cwd for the processes."""

    root: Path

    @property
    def socket(self) -> Path:
        return self.root / "tmux.sock"

    @property
    def state(self) -> Path:
        return self.root / "state"

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-S", str(self.socket), *args], capture_output=True,
                              text=True, check=True, timeout=30).stdout

    def spec(self, name: str, *command: str, workspace: str = "ws",
             layout: Layout = Layout.TILED, pane: PaneSpec | None = None) -> ProcessSpec:
        return ProcessSpec(workspace=workspace, name=name, command=command,
                           cwd=str(self.root), layout=layout, pane=pane or PaneSpec())

    def log(self, name: str) -> Path:
        return self.state / "logs" / "ws" / f"{name}.log"


@pytest.fixture
def box() -> Iterator[Box]:
    root = short_tmpdir("wpt-")
    b = Box(root)
    try:
        yield b
    finally:
        subprocess.run(["tmux", "-S", str(b.socket), "kill-server"], capture_output=True,
                       timeout=30)
        # the server's panes (wrappers, log pipes) end a moment after it; wait for them
        try:
            retry_until(lambda: not processes_mentioning(str(root)), 15, 0.02,
                        f"processes under {root} to end")
        except AssertionError:
            left = [Path(f"/proc/{p}/cmdline").read_bytes() for p in processes_mentioning(
                str(root))]
            raise AssertionError(f"left running after kill-server: {left}") from None
        shutil.rmtree(root, ignore_errors=True)


def processes_mentioning(text: str) -> list[int]:
    """Live processes whose command line contains `text`."""
    found = []
    needle = text.encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "cmdline").read_bytes() \
                    and ") Z" not in (entry / "stat").read_text():
                found.append(int(entry.name))
        except OSError:
            continue
    return found
