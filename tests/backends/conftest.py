"""Every test here must leave no process behind, and say which one it left.

Each test runs with its own marker in the environment; everything it starts inherits it (the
backend merges `os.environ` into the child's environment), so afterwards any live process that
carries the marker is one this test left behind. Processes killed a moment ago get a short
deadline to finish dying before they count.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

MARKER = "WEZPARALLEL_BACKENDS_TEST"


def marked_pids(token: str) -> list[int]:
    wanted = f"{MARKER}={token}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_bytes().rpartition(b")")[2].split()[0]
        except (OSError, IndexError):
            continue
        if wanted in environ.split(b"\0") and state not in (b"Z", b"X"):
            found.append(int(entry.name))
    return found


@pytest.fixture(autouse=True)
def no_leftover_processes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    token = uuid.uuid4().hex
    monkeypatch.setenv(MARKER, token)
    yield
    deadline = time.monotonic() + 5.0
    while (left := marked_pids(token)) and time.monotonic() < deadline:
        time.sleep(0.02)
    described = []
    for pid in left:
        try:
            described.append(f"{pid}: {Path(f'/proc/{pid}/cmdline').read_bytes()!r}")
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    assert not described, "processes left behind:\n" + "\n".join(described)
