#!/usr/bin/env python3
"""A stand-in for an interactive Claude Code session, for tests that cannot reach the API.

It accepts the command line wezparallel generates (options are ignored except `--settings`,
`--continue` and the prompt after `--`), prints a welcome screen and a prompt, reads prompts
from stdin, and runs the hook commands of the `--settings` file the way the real CLI does:
through `/bin/sh -c`, with a JSON payload on stdin carrying `session_id`, `hook_event_name`,
`cwd` and `transcript_path`, and each hook's `timeout`.

A prompt drives one turn: UserPromptSubmit, then per word in it:
  `tool`  PreToolUse + PostToolUse (a Bash call)
  `ask`   Notification (permission needed), then waits for one more line as the answer
  `crash` exits 3 at once, without SessionEnd (a crashing CLI)
and Stop at the end of the turn. `/exit` or end of input ends the session with SessionEnd.

On a terminal (a pane) prompts come from an input box modelled on Claude Code's (see
`InputBox`): raw mode, bracketed paste on, and a fast burst of bytes taken as a paste, so an
Enter in the same burst as the text is a newline in the box, not a submission. On a pipe (the
tests that drive the session directly) prompts are read line by line.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import termios
import uuid
from typing import Any


class Session:
    def __init__(self, settings: dict[str, Any], resumed: bool) -> None:
        self.settings = settings
        self.resumed = resumed
        self.session_id = str(uuid.uuid4())
        self.cwd = os.getcwd()

    def hook(self, event: str, **extra: Any) -> None:
        payload = {
            "session_id": self.session_id,
            "transcript_path": f"/tmp/claude-stub/{self.session_id}.jsonl",
            "cwd": self.cwd,
            "hook_event_name": event,
            **extra,
        }
        for group in self.settings.get("hooks", {}).get(event, []):
            for hook in group.get("hooks", []):
                if hook.get("type") != "command":
                    continue
                try:
                    subprocess.run(["/bin/sh", "-c", hook["command"]],
                                   input=json.dumps(payload).encode(),
                                   timeout=hook.get("timeout", 60), capture_output=True,
                                   check=False)
                except subprocess.TimeoutExpired:
                    say(f"hook {event} timed out")

    def turn(self, prompt: str) -> None:
        self.hook("UserPromptSubmit", prompt=prompt)
        say("✻ Working… (esc to interrupt)")
        for word in prompt.split():
            if word == "tool":
                tool = {"tool_name": "Bash", "tool_input": {"command": "true"}}
                self.hook("PreToolUse", **tool)
                self.hook("PostToolUse", **tool, tool_response={"stdout": ""})
            elif word == "ask":
                self.hook("Notification", message="Claude needs your permission to use Bash")
                say("Do you want to proceed?\n❯ 1. Yes\n  2. No")
                read_line()
            elif word == "crash":
                os._exit(3)
        say(f"● Done: {prompt}")
        self.hook("Stop", stop_hook_active=False)


def say(text: str) -> None:
    print(text, flush=True)


def parse(argv: list[str]) -> tuple[dict[str, Any], bool, str | None]:
    settings: dict[str, Any] = {}
    resumed, prompt = False, None
    for i, arg in enumerate(argv):
        if arg == "--settings":
            with open(argv[i + 1], encoding="utf-8") as fh:
                settings = json.load(fh)
        elif arg in ("--continue", "-c"):
            resumed = True
        elif arg == "--":
            prompt = " ".join(argv[i + 1:])
            break
    return settings, resumed, prompt


# --- the input box -------------------------------------------------------------------------

PASTE_START, PASTE_END = b"\x1b[200~", b"\x1b[201~"
BURST_GAP = float(os.environ.get("CLAUDE_STUB_BURST_GAP", "0.05"))
"""Seconds of quiet that end a burst: bytes closer together than this are one paste (Codex's
input treats keys within 8 ms as a burst and Enter within 120 ms after it as a newline;
Claude Code's exact window is not documented)."""


class InputBox:
    """Claude Code's prompt input on a terminal, as far as a sender can tell it apart.

    - Raw mode like Node's `setRawMode` (libuv keeps ONLCR for output), bracketed paste on.
    - Input is read in bursts: bytes that arrive within `BURST_GAP` of each other.
    - A burst that is a lone CR is Enter: it submits the box (an empty box stays put).
    - Any other burst is typed into the box as a paste; CR and LF in it become newlines, so a
      CR at the end of a burst does not submit.
    - `ESC[200~ ... ESC[201~` delimit a paste, however many bursts it spans.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.text = ""
        self.in_paste = False
        mode = termios.tcgetattr(fd)
        mode[0] &= ~(termios.BRKINT | termios.ICRNL | termios.INPCK | termios.ISTRIP
                     | termios.IXON)
        mode[3] &= ~(termios.ECHO | termios.ICANON | termios.IEXTEN | termios.ISIG)
        mode[6][termios.VMIN], mode[6][termios.VTIME] = 1, 0
        termios.tcsetattr(fd, termios.TCSADRAIN, mode)
        os.write(1, b"\x1b[?2004h")

    def read_line(self) -> str:
        """The next submitted prompt with a trailing newline; "" at the end of input."""
        while True:
            burst = self.burst()
            if not burst:
                return ""
            if self.take(burst) and self.text.strip():
                text, self.text = self.text, ""
                return text + "\n"

    def burst(self) -> bytes:
        try:
            data = os.read(self.fd, 65536)
            while data and select.select([self.fd], [], [], BURST_GAP)[0]:
                more = os.read(self.fd, 65536)
                if not more:
                    break
                data += more
        except OSError:  # EIO: the terminal hung up
            return b""
        return data

    def take(self, burst: bytes) -> bool:
        """Apply one burst to the box; True when it is Enter on its own."""
        if burst == b"\r" and not self.in_paste:
            return True
        rest = burst
        while rest:
            marker = PASTE_END if self.in_paste else PASTE_START
            before, found, rest = rest.partition(marker)
            self.text += before.decode(errors="replace").replace("\r\n", "\n") \
                .replace("\r", "\n")
            if found:
                self.in_paste = not self.in_paste
        return False


_box: InputBox | None = None


def open_input() -> None:
    """The input box when stdin is a terminal (Claude Code draws it before any hook runs)."""
    global _box
    if os.isatty(0):
        _box = InputBox(0)


def read_line() -> str:
    return _box.read_line() if _box is not None else sys.stdin.readline()


def main() -> int:
    settings, resumed, prompt = parse(sys.argv[1:])
    open_input()
    session = Session(settings, resumed)
    say("✻ Welcome to Claude Stub!")
    session.hook("SessionStart", source="resume" if resumed else "startup")
    if prompt:
        session.turn(prompt)
    while True:
        say("> \n? for shortcuts")
        line = read_line()
        if not line or line.strip() == "/exit":
            break
        if line.strip():
            session.turn(line.strip())
    session.hook("SessionEnd", reason="prompt_input_exit" if line else "other")
    return 0


if __name__ == "__main__":
    sys.exit(main())
