"""Bracketing a paste, and counting what a terminal's program has not read yet (a real pty)."""

from __future__ import annotations

import os
import termios
import tty

from tests.support import retry_until
from wezparallel.backends.paste import bracketed, defang, terminal_of, unread_input


def test_bracketed_wraps_the_text_and_defangs_markers_inside() -> None:
    assert bracketed("a\nb") == "\x1b[200~a\nb\x1b[201~"
    assert defang("x\x1b[201~y\x1b[200~z") == "xyz"
    assert bracketed("x\x1b[201~rm -rf ~\r") == "\x1b[200~xrm -rf ~\r\x1b[201~"


def test_unread_input_counts_bytes_the_program_has_not_read() -> None:
    master, slave = os.openpty()
    try:
        tty.setraw(slave)
        name = os.ttyname(slave)
        assert unread_input(name) == 0
        os.write(master, b"hello")
        retry_until(lambda: unread_input(name) == 5, 5, 0.01, "5 unread bytes")
        assert os.read(slave, 16) == b"hello"
        assert unread_input(name) == 0
    finally:
        os.close(master)
        os.close(slave)


def test_in_line_mode_only_whole_lines_count() -> None:
    master, slave = os.openpty()
    try:
        mode = termios.tcgetattr(slave)
        mode[3] |= termios.ICANON
        termios.tcsetattr(slave, termios.TCSANOW, mode)
        name = os.ttyname(slave)
        os.write(master, b"half")
        os.write(master, b" line\n")
        retry_until(lambda: unread_input(name) == 10, 5, 0.01, "one whole line")
    finally:
        os.close(master)
        os.close(slave)


def test_unknown_terminals_are_none() -> None:
    assert unread_input("/nonexistent/tty") is None
    assert terminal_of(0) is None
    assert terminal_of(2**22 + 12345) is None  # above pid_max: no such process
