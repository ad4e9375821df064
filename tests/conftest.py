"""Session-wide guard: nothing a test starts may outlive the test session.

Every process started under pytest inherits a marker in its environment; at the end of the
session any live process carrying it (other than pytest itself) is reported as an orphan,
killed, and fails the run.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import DaemonProcess

MARKER = "WEZPARALLEL_TEST_SESSION"
os.environ.setdefault(MARKER, uuid.uuid4().hex)
# The Claude stand-in keeps its sessions where the real CLI does: never in the user's ~/.claude.
CLAUDE_DIR = tempfile.mkdtemp(prefix="wzp-claude-")
os.environ["CLAUDE_CONFIG_DIR"] = CLAUDE_DIR
# Daemons under test serve no dashboard unless a test asks (`--dashboard 127.0.0.1:0`): dozens
# of them would race for its default port and load aiohttp for nothing.
os.environ["WEZPARALLEL_DASHBOARD"] = "off"


def _marked_pids() -> list[int]:
    token = f"{MARKER}={os.environ[MARKER]}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if token in environ.split(b"\0") and ") Z" not in stat:
            found.append(int(entry.name))
    return found


@pytest.fixture(scope="session", autouse=True)
def no_orphans() -> Iterator[None]:
    yield
    shutil.rmtree(CLAUDE_DIR, ignore_errors=True)
    leftovers = [p for p in _marked_pids() if p != os.getpid()]
    descr = []
    for pid in leftovers:
        try:
            descr.append(f"{pid}: {Path(f'/proc/{pid}/cmdline').read_bytes()!r}")
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    assert not descr, "processes left behind by the tests:\n" + "\n".join(descr)


@pytest.fixture
def daemon_factory() -> Iterator[Callable[..., DaemonProcess]]:
    """Start real daemons; every one is stopped and its directory removed afterwards."""
    made: list[DaemonProcess] = []

    def make(conf: dict[str, str] | None = None, **kwargs: object) -> DaemonProcess:
        d = DaemonProcess(conf, **kwargs)  # type: ignore[arg-type]
        made.append(d)
        return d

    yield make
    for d in made:
        d.cleanup()
