"""Text typed into a pane as a paste, and whether the pane's program has read it yet.

A terminal brackets a paste (`ESC[200~ ... ESC[201~`) only when the program asked for it, and
otherwise sends each newline as a CR, that is as Enter (tmux `paste-buffer -p`, WezTerm
`send-text`). An agent's prompt must arrive as one message whether or not its input box is
drawn yet, so for agents we bracket the text ourselves and send it raw. The text is defanged
first, as WezTerm does (term/src/terminalstate/mod.rs `send_paste`): a marker inside it would
end the paste early and let the rest be read as keys.

Whether the program has read what was typed is the terminal's input queue (FIONREAD on the
pane's tty): an Enter pressed while the text still sits there would arrive in the same read and
be taken as part of the paste.
"""

from __future__ import annotations

import fcntl
import os
import struct
import termios

PASTE_START = "\x1b[200~"
PASTE_END = "\x1b[201~"


def defang(text: str) -> str:
    """`text` without bracketed-paste markers."""
    return text.replace(PASTE_START, "").replace(PASTE_END, "")


def bracketed(text: str) -> str:
    """`text` as one bracketed paste, whatever mode the program is in."""
    return PASTE_START + defang(text) + PASTE_END


def terminal_of(pid: int) -> str | None:
    """The terminal device `pid` runs on (a pane's wrapper runs on the pane's tty)."""
    if pid <= 0:
        return None
    import psutil  # here, not at the top: a daemon without panes never loads it

    try:
        return psutil.Process(pid).terminal()
    except psutil.Error:
        return None


def unread_input(tty: str) -> int | None:
    """Bytes typed into `tty` that its program has not read; None when it cannot be told.
    In canonical mode only complete lines count (the kernel's own rule for FIONREAD)."""
    try:
        fd = os.open(tty, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        raw = fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0")
        return int(struct.unpack("i", raw)[0])
    except OSError:
        return None
    finally:
        os.close(fd)
