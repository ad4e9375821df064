"""The hook reporter: `python -m wezparallel.agents.report --socket S --id ws:name EVENT`.

Claude Code runs it for every hook event, PreToolUse included, and waits for it before using
the tool, so it must be fast and must never get in the agent's way:

- only stdlib modules that the interpreter loads anyway or that are cheap (no argparse, no
  asyncio, nothing from wezparallel), and the package `__init__` files are import-free;
- one NDJSON request on the daemon's socket, then it waits for the reply line, because the reply
  means the daemon has applied the event: two hooks fired back to back (Stop, then the next
  UserPromptSubmit) are thus seen by the daemon in the order Claude Code ran them;
- a total time budget (`--timeout`, default 1 s) after which it gives up;
- exit status 0 whatever happens: a non-zero status would show an error in the agent's session,
  and exit status 2 from a PreToolUse hook would even block the tool.
"""

from __future__ import annotations

import json
import os
import select
import socket
import sys
import time

DEFAULT_TIMEOUT = 1.0  # seconds, for reading stdin, connecting, sending and the reply together
MAX_STDIN = 1 << 20  # bytes; PreToolUse payloads carry the tool input, which can be large
# Payload fields the activity depends on, passed on as `hook` (never the tool input or the
# prompt: they can be large, and the daemon has no use for them).
FIELDS = ("agent_id", "stop_hook_active", "notification_type", "message", "error",
          "error_type", "error_message", "last_assistant_message", "source", "reason")
FIELD_LIMIT = 300  # characters kept of a string field


def parse_args(argv: list[str]) -> tuple[str, str, str, float]:
    """(socket, process id, event, timeout); raises ValueError on anything else."""
    sock = os.environ.get("WEZPARALLEL_SOCKET", "")
    pid, event, timeout = "", "", DEFAULT_TIMEOUT
    it = iter(argv)
    for arg in it:
        if arg == "--socket":
            sock = next(it)
        elif arg == "--id":
            pid = next(it)
        elif arg == "--timeout":
            timeout = float(next(it))
        elif arg.startswith("-"):
            raise ValueError(f"unknown option {arg}")
        else:
            event = arg
    if not (sock and pid):
        raise ValueError("--socket and --id are required")
    return sock, pid, event, timeout


def read_stdin(deadline: float, fd: int = 0) -> bytes:
    """Everything on stdin until EOF, the deadline or MAX_STDIN, whichever comes first."""
    if os.isatty(fd):
        return b""
    chunks: list[bytes] = []
    size = 0
    while size < MAX_STDIN:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            break
        data = os.read(fd, 65536)
        if not data:
            break
        chunks.append(data)
        size += len(data)
    return b"".join(chunks)


def request(payload: bytes, process_id: str, event: str) -> bytes:
    """The NDJSON line; the event comes from argv, else from the payload."""
    try:
        hook = json.loads(payload) if payload.strip() else {}
    except ValueError:
        hook = {}
    if not isinstance(hook, dict):
        hook = {}
    session = hook.get("session_id")
    params = {
        "id": process_id,
        "event": event or str(hook.get("hook_event_name") or ""),
        "session_id": session if isinstance(session, str) else None,
        "hook": {k: v[:FIELD_LIMIT] if isinstance(v, str) else v
                 for k, v in hook.items() if k in FIELDS and isinstance(v, (str, bool))},
    }
    line = {"id": 1, "method": "agent_event", "params": params}
    return json.dumps(line, separators=(",", ":")).encode() + b"\n"


def send(sock_path: str, line: bytes, deadline: float) -> None:
    """Send the request and wait for the reply line (or EOF) until the deadline."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(max(0.001, deadline - time.monotonic()))
        sock.connect(sock_path)
        sock.sendall(line)
        received = b""
        while b"\n" not in received:
            sock.settimeout(max(0.001, deadline - time.monotonic()))
            data = sock.recv(4096)
            if not data:
                break
            received += data


def main(argv: list[str] | None = None) -> int:
    start = time.monotonic()
    try:
        sock_path, process_id, event, timeout = parse_args(
            sys.argv[1:] if argv is None else argv)
        deadline = start + timeout
        line = request(read_stdin(deadline), process_id, event)
        send(sock_path, line, deadline)
    except BaseException as exc:  # never fail the hook, whatever happened
        if os.environ.get("WEZPARALLEL_REPORT_DEBUG"):
            print(f"wezparallel report: {exc!r}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
