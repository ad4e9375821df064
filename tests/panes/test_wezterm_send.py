"""What `wezterm cli send-text` puts into a pane, in the stand-in and through the backend.

WezTerm (wezterm/src/cli/send_text.rs, term/src/terminalstate/mod.rs `send_paste`): without
`--no-paste` the text is a paste, bracketed only when the program enabled bracketed paste and
otherwise with every newline sent as CR, so a multi-line prompt typed before a TUI is ready
would be several Enters; `--no-paste` writes the bytes as they are. The pane runs a
recorder (tests/panes/recorder.py).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.panes.conftest import Box, Exits
from tests.panes.recorder import Recorder
from tests.wezgui import start_gui
from wezparallel.backends.base import Handle
from wezparallel.backends.wezterm import WezTermBackend

FAKE = Path(__file__).parent.parent / "fakes" / "wezterm"


def cli(*args: str, stdin: str | None = None) -> None:
    subprocess.run([str(FAKE), "cli", *args], input=stdin, text=True, check=True,
                   timeout=30, capture_output=True)


@pytest.fixture
def wez(box: Box, monkeypatch: pytest.MonkeyPatch) -> Iterator[Box]:
    """A WezTerm GUI whose mux is the box's tmux server, found through its gui-sock."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(box.root / "run"))
    for var in ("FAKE_WEZTERM_LOG", "WEZTERM_PANE", "WEZTERM_UNIX_SOCKET", "DISPLAY"):
        monkeypatch.delenv(var, raising=False)
    start_gui(box.root / "run", box.socket)
    yield box


def test_a_paste_without_bracketed_paste_sends_each_newline_as_cr(wez: Box) -> None:
    rec = Recorder(wez, "plain")
    cli("send-text", "--pane-id", "0", stdin="a\nb\r\nc\x1b[201~d")
    assert rec.received(b"a\rb\rcd") == b"a\rb\rcd"


def test_a_paste_is_bracketed_when_the_program_asked(wez: Box) -> None:
    rec = Recorder(wez, "bracketed")
    cli("send-text", "--pane-id", "0", stdin="x\ny")
    # WezTerm keeps the LF inside a bracketed paste; the stand-in sends CR (its known limit)
    assert rec.received(b"\x1b[200~x\ry\x1b[201~") == b"\x1b[200~x\ry\x1b[201~"


def test_no_paste_writes_the_bytes_as_they_are(wez: Box) -> None:
    rec = Recorder(wez, "plain")
    cli("send-text", "--pane-id", "0", "--no-paste", "m\nn;")
    assert rec.received(b"m\nn;") == b"m\nn;"


def test_an_agents_prompt_is_one_paste_even_before_the_program_asks(wez: Box) -> None:
    """The backend brackets an agent's prompt itself (`--no-paste`), so a TUI that has not
    turned bracketed paste on yet still gets one paste, not one Enter per line; Enter comes
    on its own."""
    rec = Recorder(wez, "plain")
    backend = WezTermBackend(Exits(), state_dir=wez.state, wezterm=str(FAKE))
    handle = Handle("ws:agent", os.getpid(), "wezterm", pane="0")
    backend.paste([handle], "line one\nline two\x1b[201~!", bracket=True)
    backend.press_enter([handle])
    want = b"\x1b[200~line one\nline two!\x1b[201~\r"
    assert rec.received(want) == want


def test_other_text_is_pasted_the_way_wezterm_pastes(wez: Box) -> None:
    rec = Recorder(wez, "plain")
    backend = WezTermBackend(Exits(), state_dir=wez.state, wezterm=str(FAKE))
    backend.paste([Handle("ws:dev", os.getpid(), "wezterm", pane="0")], "q\nr", bracket=False)
    assert rec.received(b"q\rr") == b"q\rr"
