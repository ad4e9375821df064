#!/usr/bin/env python3
"""A stand-in for an interactive Claude Code session, for tests that cannot reach the API.

It accepts the command line wezparallel generates (options are ignored except `--settings`,
the session options and the prompt after `--`), prints a welcome screen and a prompt, reads
prompts from stdin, and runs the hook commands of the `--settings` file the way the real CLI
does: through `/bin/sh -c`, with a JSON payload on stdin carrying `session_id`,
`hook_event_name`, `cwd` and `transcript_path`, and each hook's `timeout`.

Sessions behave as in Claude Code 2.1.197 (measured, see /work/shared/reference/claude-code.md):
they are stored per directory, `$CLAUDE_CONFIG_DIR` (else `~/.claude`) `/projects/<cwd with
every non-alphanumeric character as ->/<id>.jsonl`, written from the first prompt on.
  `--session-id UUID`  starts a session with that id; refused if not a UUID, if combined with
                       --continue/--resume without --fork-session, or if it already exists
  `--resume ID`        resumes exactly that session of this directory, else "No conversation
                       found with session ID: ID" and exit 1
  `--continue`         resumes the newest session of this directory (a new one if none)
  `--fork-session`     with --resume/--continue, continues into a new id
Errors go to stderr with exit status 1 before any hook runs, as the real option checks do.

`CLAUDE_STUB_OFFLINE=1` models the CLI without a network: welcome screen, "Unable to connect to
Anthropic services", exit 1, no hook at all (an unknown --resume id is only found out after
that check, as in the real interactive CLI). `CLAUDE_STUB_LOGGED_OUT=1` makes every turn fail
the way an unauthenticated one does: "Not logged in · Please run /login" and StopFailure
(`error: authentication_failed`) instead of Stop.

A prompt drives one turn: UserPromptSubmit, then per word in it:
  `tool`      PreToolUse + PostToolUse (a Bash call)
  `ask`       Notification (permission_prompt), then waits for one more line as the answer
  `elicit`    Notification (elicitation_dialog), then waits for one more line as the answer
  `subagent`  a Task tool whose subagent ends with a Stop carrying `agent_id` (mid-turn)
  `autherror` the turn fails as when not logged in (StopFailure, no Stop)
  `apierror`  the turn fails with a server error (StopFailure `server_error`, no Stop)
  `remind`    after the turn, the idle reminder (Notification `idle_prompt`)
  `crash`     exits 3 at once, without SessionEnd (a crashing CLI)
  `sleep:S`   a Bash call that takes S seconds (a long turn, for time tracking)
  `commit:F`  a Bash call that appends a line to file F and commits it (`git commit`), the way
              an agent at work on a task in its worktree does
and Stop at the end of the turn. `/exit` or end of input ends the session with SessionEnd.
`CLAUDE_STUB_TURN_LOG=FILE` appends `START END` (epoch seconds at which the turn's
UserPromptSubmit and Stop hooks were fired) per successful turn, for time-tracking tests.
`CLAUDE_STUB_NO_NOTIFICATION_TYPE=1` leaves `notification_type` out, as older versions do.

On a terminal (a pane) prompts come from an input box modelled on Claude Code's (see
`InputBox`): raw mode, bracketed paste on, and a fast burst of bytes taken as a paste, so an
Enter in the same burst as the text is a newline in the box, not a submission. On a pipe (the
tests that drive the session directly) prompts are read line by line.
"""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
import termios
import time
import uuid
from pathlib import Path
from typing import Any

NOT_LOGGED_IN = "Not logged in · Please run /login"


class Refused(Exception):
    """A command line the real CLI refuses before starting a session."""


class Store:
    """The sessions of one directory, where the real CLI keeps them."""

    def __init__(self, cwd: str) -> None:
        root = os.environ.get("CLAUDE_CONFIG_DIR") or os.path.expanduser("~/.claude")
        self.dir = Path(root) / "projects" / re.sub(r"[^A-Za-z0-9]", "-", cwd)

    def path(self, session: str) -> Path:
        return self.dir / f"{session}.jsonl"

    def exists(self, session: str) -> bool:
        return self.path(session).is_file()

    def newest(self) -> str | None:
        found = sorted(self.dir.glob("*.jsonl"), key=lambda p: p.stat().st_mtime_ns)
        return found[-1].stem if found else None

    def append(self, session: str, record: dict[str, Any]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.path(session), "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")


class Options:
    def __init__(self, argv: list[str]) -> None:
        self.settings: dict[str, Any] = {}
        self.cont = self.fork = False
        self.resume: str | None = None
        self.session_id: str | None = None
        self.prompt: str | None = None
        it = iter(enumerate(argv))
        for i, arg in it:
            if arg == "--settings":
                with open(argv[i + 1], encoding="utf-8") as fh:
                    self.settings = json.load(fh)
            elif arg in ("--continue", "-c"):
                self.cont = True
            elif arg in ("--resume", "-r"):
                self.resume = argv[i + 1]
                next(it)
            elif arg == "--session-id":
                self.session_id = argv[i + 1]
                next(it)
            elif arg == "--fork-session":
                self.fork = True
            elif arg == "--":
                self.prompt = " ".join(argv[i + 1:])
                break

    def check(self, store: Store) -> None:
        """The checks the real CLI makes before anything else."""
        if self.session_id is None:
            return
        try:
            uuid.UUID(self.session_id)
        except ValueError:
            raise Refused("Error: Invalid session ID. Must be a valid UUID.") from None
        if (self.cont or self.resume) and not self.fork:
            raise Refused("Error: --session-id can only be used with --continue or --resume "
                          "if --fork-session is also specified.")
        if store.exists(self.session_id):
            raise Refused(f"Error: Session ID {self.session_id} is already in use.")

    def session(self, store: Store) -> tuple[str, bool]:
        """(the session id, whether it resumes an earlier conversation)."""
        earlier = self.resume or (store.newest() if self.cont else None)
        if self.resume and not store.exists(self.resume):
            raise Refused(f"No conversation found with session ID: {self.resume}")
        if earlier is None:
            return self.session_id or str(uuid.uuid4()), False
        if self.fork:
            return self.session_id or str(uuid.uuid4()), True
        return earlier, True


class Session:
    def __init__(self, settings: dict[str, Any], store: Store, session_id: str,
                 resumed: bool) -> None:
        self.settings = settings
        self.store = store
        self.resumed = resumed
        self.session_id = session_id
        self.cwd = os.getcwd()
        self.logged_out = bool(os.environ.get("CLAUDE_STUB_LOGGED_OUT"))

    def hook(self, event: str, **extra: Any) -> None:
        payload = {
            "session_id": self.session_id,
            "transcript_path": str(self.store.path(self.session_id)),
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

    def notify(self, kind: str, message: str) -> None:
        typed = {} if os.environ.get("CLAUDE_STUB_NO_NOTIFICATION_TYPE") else {
            "notification_type": kind}
        self.hook("Notification", message=message, **typed)

    def turn(self, prompt: str) -> None:
        self.store.append(self.session_id, {"type": "user", "message": prompt})
        began = time.time()
        self.hook("UserPromptSubmit", prompt=prompt)
        say("✻ Working… (esc to interrupt)")
        words = prompt.split()
        for word in words:
            if word == "tool":
                tool = {"tool_name": "Bash", "tool_input": {"command": "true"}}
                self.hook("PreToolUse", **tool)
                self.hook("PostToolUse", **tool, tool_response={"stdout": ""})
            elif word in ("ask", "elicit"):
                if word == "ask":
                    self.notify("permission_prompt", "Claude needs your permission to use Bash")
                else:
                    self.notify("elicitation_dialog", "Claude Code needs your input")
                say("Do you want to proceed?\n❯ 1. Yes\n  2. No")
                read_line()
            elif word == "subagent":
                task = {"tool_name": "Task", "tool_input": {"prompt": "look around"}}
                self.hook("PreToolUse", **task)
                self.hook("Stop", stop_hook_active=False, agent_id="a1b2c3",
                          agent_type="general-purpose")
                self.hook("PostToolUse", **task, tool_response={"result": "done"})
            elif word == "crash":
                os._exit(3)
            elif word.startswith(("sleep:", "commit:")):
                self.bash(word)
            if word in ("autherror", "apierror") or self.logged_out:
                self.fail("server_error" if word == "apierror" else "authentication_failed")
                return
        say(f"● Done: {prompt}")
        turn_log = os.environ.get("CLAUDE_STUB_TURN_LOG")
        if turn_log:
            with open(turn_log, "a", encoding="utf-8") as f:
                f.write(f"{began} {time.time()}\n")
        self.hook("Stop", stop_hook_active=False)
        if "remind" in words:
            self.notify("idle_prompt", "Claude is waiting for your input")

    def bash(self, word: str) -> None:
        kind, _, arg = word.partition(":")
        tool = {"tool_name": "Bash", "tool_input": {"command": word}}
        self.hook("PreToolUse", **tool)
        if kind == "sleep":
            time.sleep(float(arg))
        else:
            with open(arg, "a", encoding="utf-8") as f:
                f.write(f"edit by {self.session_id}\n")
            for argv in (["git", "add", arg], ["git", "commit", "-q", "-m", f"edit {arg}"]):
                subprocess.run(argv, capture_output=True, check=False)
        self.hook("PostToolUse", **tool, tool_response={"stdout": ""})

    def fail(self, error: str) -> None:
        message = NOT_LOGGED_IN if error == "authentication_failed" else \
            "API Error: 500 Internal server error"
        say(message)
        self.hook("StopFailure", error=error, last_assistant_message=message)


def say(text: str) -> None:
    print(text, flush=True)


def start(argv: list[str]) -> tuple[Session, str | None]:
    """The session the command line asks for and its first prompt; Refused as the real CLI
    would refuse it."""
    opts = Options(argv)
    store = Store(os.getcwd())
    opts.check(store)
    say("✻ Welcome to Claude Stub!")
    if os.environ.get("CLAUDE_STUB_OFFLINE"):
        raise Refused("Unable to connect to Anthropic services\n"
                      "Failed to connect to api.anthropic.com: ENOTFOUND")
    session_id, resumed = opts.session(store)
    return Session(opts.settings, store, session_id, resumed), opts.prompt


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
    try:
        session, prompt = start(sys.argv[1:])
    except Refused as exc:
        print(exc, file=sys.stderr, flush=True)
        return 1
    open_input()
    session.hook("SessionStart", source="resume" if session.resumed else "startup")
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
