"""A raw-mode program in a pane that appends every byte it reads to a file: what a pane's
program receives when text is typed or pasted into it, exactly."""

from __future__ import annotations

import sys

from tests.panes.conftest import Box
from tests.support import retry_until

PROGRAM = """
import os, sys, tty
tty.setraw(0)
if sys.argv[2] == "bracketed":
    os.write(1, b"\\x1b[?2004h")
with open(sys.argv[1], "ab", buffering=0) as out:
    os.write(1, b"ready")
    while data := os.read(0, 4096):
        out.write(data)
"""


class Recorder:
    """The recorder in pane %0 of the box's tmux server; `mode` "bracketed" turns bracketed
    paste on, anything else leaves it off."""

    def __init__(self, box: Box, mode: str) -> None:
        self.file = box.root / "input.bin"
        box.tmux("new-session", "-d", "-x", "80", "-y", "24", sys.executable, "-c", PROGRAM,
                 str(self.file), mode)
        retry_until(lambda: "ready" in box.tmux("capture-pane", "-p"), 15, 0.02,
                    "the recorder")
        self.pid = int(box.tmux("display-message", "-p", "-t", "%0", "#{pane_pid}"))

    def received(self, expected: bytes) -> bytes:
        """What it read, once that is at least as long as `expected`."""
        def got() -> bytes | None:
            data = self.file.read_bytes() if self.file.exists() else b""
            return data if len(data) >= len(expected) else None
        return retry_until(got, 15, 0.02, f"{len(expected)} bytes of input")
