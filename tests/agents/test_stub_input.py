"""The stand-in CLI's input box, which the `send` tests rely on, against a real tmux pane.

Claude Code's terminal input takes a fast burst of bytes as a paste, so a CR that arrives in the
same burst as the text is a newline in the box, not a submission; only an Enter that arrives on
its own submits. Prompts are observed the way the daemon sees them: through a hook command of
the `--settings` file (here one that appends each payload to a file).
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from agent_helpers import STUB

from tests.support import retry_until, short_tmpdir


class StubPane:
    """The stand-in in a pane of a private tmux server, with a hook that records prompts."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.socket = root / "tmux.sock"
        self.events = root / "events.jsonl"
        hook = {"type": "command",
                "command": f"cat >> {shlex.quote(str(self.events))}; "
                           f"echo >> {shlex.quote(str(self.events))}"}
        settings = root / "settings.json"
        settings.write_text(json.dumps({"hooks": {"UserPromptSubmit": [{"hooks": [hook]}]}}))
        self.tmux("new-session", "-d", "-x", "120", "-y", "40", sys.executable, str(STUB),
                  "--settings", str(settings))
        retry_until(lambda: "? for shortcuts" in self.tmux("capture-pane", "-p"), 15, 0.02,
                    "the stand-in's prompt")

    def tmux(self, *args: str, stdin: str | None = None) -> str:
        return subprocess.run(["tmux", "-S", str(self.socket), *args], input=stdin,
                              capture_output=True, text=True, check=True, timeout=30).stdout

    def prompts(self) -> list[str]:
        if not self.events.exists():
            return []
        lines = self.events.read_text().splitlines()
        return [json.loads(line)["prompt"] for line in lines if line.strip()]

    def enter_until_submitted(self, count: int) -> list[str]:
        """Press Enter alone until `count` prompts were submitted (an Enter on an empty box
        does nothing, so the extra presses a slow machine needs change nothing)."""
        def submitted() -> list[str] | None:
            got = self.prompts()
            if len(got) >= count:
                return got
            self.tmux("send-keys", "-t", "%0", "Enter")
            return None
        return retry_until(submitted, 20, 0.3, f"{count} submitted prompts")


@pytest.fixture
def stub_pane() -> Iterator[StubPane]:
    root = short_tmpdir("wzs-")
    pane = StubPane(root)
    try:
        yield pane
    finally:
        subprocess.run(["tmux", "-S", str(pane.socket), "kill-server"], capture_output=True,
                       timeout=30)
        subprocess.run(["rm", "-rf", str(root)], check=False)


def test_text_and_enter_in_one_burst_stay_in_the_box(stub_pane: StubPane) -> None:
    """What `send` did before: paste and Enter in one tmux call. Two such sends end up as one
    prompt of two lines once an Enter comes on its own; had either submitted, there would be
    two prompts."""
    for word in ("one", "two"):
        stub_pane.tmux("load-buffer", "-b", "t", "-", ";", "paste-buffer", "-p", "-b", "t",
                       "-t", "%0", ";", "send-keys", "-t", "%0", "Enter", stdin=word)
    assert stub_pane.enter_until_submitted(1) == ["one\ntwo"]


def test_a_bracketed_paste_then_enter_alone_is_one_message(stub_pane: StubPane) -> None:
    paste = "\x1b[200~first line\nsecond line\x1b[201~"
    stub_pane.tmux("load-buffer", "-b", "t", "-", ";", "paste-buffer", "-r", "-b", "t",
                   "-t", "%0", stdin=paste)
    assert stub_pane.enter_until_submitted(1) == ["first line\nsecond line"]
    screen = stub_pane.tmux("capture-pane", "-p")
    assert "● Done: first line\nsecond line" in screen


def test_unbracketed_lines_typed_in_one_burst_are_one_message(stub_pane: StubPane) -> None:
    """A terminal that does not bracket sends each newline as CR: in one burst they are still
    newlines in the box."""
    stub_pane.tmux("send-keys", "-t", "%0", "-l", "a\rb\rc")
    assert stub_pane.enter_until_submitted(1) == ["a\nb\nc"]
