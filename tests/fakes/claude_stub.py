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
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
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
                sys.stdin.readline()
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


def main() -> int:
    settings, resumed, prompt = parse(sys.argv[1:])
    session = Session(settings, resumed)
    say("✻ Welcome to Claude Stub!")
    session.hook("SessionStart", source="resume" if resumed else "startup")
    if prompt:
        session.turn(prompt)
    while True:
        say("> \n? for shortcuts")
        line = sys.stdin.readline()
        if not line or line.strip() == "/exit":
            break
        if line.strip():
            session.turn(line.strip())
    session.hook("SessionEnd", reason="prompt_input_exit" if line else "other")
    return 0


if __name__ == "__main__":
    sys.exit(main())
