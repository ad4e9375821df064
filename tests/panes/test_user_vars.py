"""The pane wrapper tells WezTerm whose pane it is: OSC 1337 SetUserVar on the pane's terminal.

Checked on the bytes a real wrapper writes to a real pseudo-terminal, decoded the way WezTerm's
termwiz/src/escape/osc.rs does (split at the first `=`, standard base64). tmux (and so the
`wezterm` stand-in) drops these sequences, which is why they are read here from the pty itself;
the Lua specs feed the same bytes to the Lua stand-in's `user-var-changed`.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from pathlib import Path

from wezparallel.backends.panewrap import user_var
from wezparallel.backends.wrapper import PANEWRAP

OSC = re.compile(rb"\x1b\]1337;SetUserVar=([^=\x07]+)=([A-Za-z0-9+/=]*)\x07")


def decode(data: bytes) -> list[tuple[str, str]]:
    return [(m[1].decode(), base64.b64decode(m[2]).decode()) for m in OSC.finditer(data)]


def in_pty(argv: list[str], env: dict[str, str]) -> bytes:
    """Runs argv with a pty as its terminal; everything it wrote there."""
    master, slave = os.openpty()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                            start_new_session=True)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: every writer is gone
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    assert proc.wait(timeout=30) == 3
    return out


def wrapper_output(root: Path, with_wezterm: bool) -> bytes:
    status = root / "panes" / "web" / "api.json"
    status.parent.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEZTERM_")}
    if with_wezterm:
        env["WEZTERM_PANE"] = "7"
    return in_pty([sys.executable, "-I", "-S", str(PANEWRAP), "--status-file", str(status),
                   "--", "sh", "-c", "echo program-output; exit 3"], env)


def test_the_sequence_is_what_wezterm_parses() -> None:
    assert user_var("wezparallel_id", "web:api") == \
        b"\x1b]1337;SetUserVar=wezparallel_id=d2ViOmFwaQ==\x07"
    assert decode(user_var("x", "a=b ü\n")) == [("x", "a=b ü\n")]


def test_a_wrapped_program_in_a_wezterm_pane_sets_the_vars_on_start_and_exit(
        tmp_path: Path) -> None:
    out = wrapper_output(tmp_path, with_wezterm=True)
    start, _, end = out.partition(b"program-output")
    assert decode(start) == [("wezparallel_id", "web:api"), ("wezparallel_workspace", "web"),
                             ("wezparallel_state", "running")]
    assert decode(end) == [("wezparallel_id", "web:api"), ("wezparallel_workspace", "web"),
                           ("wezparallel_state", "exited"), ("wezparallel_exit", "3")]


def test_outside_wezterm_the_wrapper_writes_no_escapes(tmp_path: Path) -> None:
    out = wrapper_output(tmp_path, with_wezterm=False)
    assert b"program-output" in out and b"\x1b]1337" not in out
