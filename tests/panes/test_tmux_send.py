"""What the tmux backend types into a pane (a recorder: tests/panes/recorder.py).

The text reaches tmux on stdin (`load-buffer -`), never as an argument: tmux's command parser
ends a command at an argument's final `;`, so `set-buffer -- "ls;"` used to paste "ls".
"""

from __future__ import annotations

import asyncio

from tests.panes.conftest import Box, Exits
from tests.panes.recorder import Recorder
from wezparallel.backends.base import Handle
from wezparallel.backends.paste import terminal_of
from wezparallel.backends.tmux import TmuxBackend


def _backend(box: Box) -> TmuxBackend:
    return TmuxBackend(Exits(), socket_path=box.socket, state_dir=box.state)


def test_an_agents_prompt_is_one_bracketed_paste_then_enter_alone(box: Box) -> None:
    """Bracketed by us whatever the program asked for (here it asked for nothing), newlines
    kept, markers inside the text removed; Enter is a separate key."""
    rec = Recorder(box, "plain")
    backend = _backend(box)
    h = Handle("ws:agent", rec.pid, "tmux", pane="%0")
    asyncio.run(backend.paste([h], "first\nsecond;\x1b[201~ third;", bracket=True))
    asyncio.run(backend.press_enter([h]))
    want = b"\x1b[200~first\nsecond; third;\x1b[201~\r"
    assert rec.received(want) == want


def test_other_text_is_pasted_as_tmux_pastes_for_a_person(box: Box) -> None:
    """Bracketed only because the program asked; newlines as CR; a final `;` kept."""
    rec = Recorder(box, "bracketed")
    backend = _backend(box)
    h = Handle("ws:dev", rec.pid, "tmux", pane="%0")
    asyncio.run(backend.paste([h], "make\ntest;", bracket=False))
    want = b"\x1b[200~make\rtest;\x1b[201~"
    assert rec.received(want) == want


def test_plain_text_to_a_program_that_asked_for_nothing(box: Box) -> None:
    rec = Recorder(box, "plain")
    backend = _backend(box)
    asyncio.run(backend.paste([Handle("ws:dev", rec.pid, "tmux", pane="%0")], "ls;",
                              bracket=False))
    assert rec.received(b"ls;") == b"ls;"


def test_the_pane_program_runs_on_the_panes_terminal(box: Box) -> None:
    rec = Recorder(box, "plain")
    assert terminal_of(rec.pid) == box.tmux("display-message", "-p", "-t", "%0",
                                            "#{pane_tty}").strip()
