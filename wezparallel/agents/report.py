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

With `--spool FILE`, an event the daemon cannot have received is appended to FILE instead,
stamped with the wall time, for the next daemon to apply when it starts (the daemon is down:
a restart, an upgrade; the agents keep running). "Cannot have received" means the request
never left: no socket, connection refused (a socket file left by a killed daemon), no
connection before the deadline, or an error before its first byte went. Once any of it is
sent, silence or a closed connection may still mean the daemon applied it (it may be slow to
answer, or die right after; it even applies a last line whose newline never came): such an
event is not spooled, because a copy applied later by the next daemon would come after newer
events and could undo them (a stale Stop showing a busy agent idle). Losing that rare event is
the lesser harm.

Appends hold an exclusive `flock` on the file, one `write` of one whole line, O_APPEND, mode
0600, and stop at MAX_SPOOL bytes (PreToolUse, which matters least, at half of it) so that a
daemon that never comes back cannot fill the disk. A daemon takes the spool by renaming it
under the same lock: an append that finds the file renamed meanwhile knows a daemon is up and
sends the event to it after all.
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
MAX_SPOOL = 1 << 20  # bytes the spool may hold: a few thousand events


class NotDelivered(Exception):
    """The request never reached the daemon: it is safe to spool."""


def parse_args(argv: list[str]) -> tuple[str, str, str, float, str]:
    """(socket, process id, event, timeout, spool or ""); raises ValueError on anything else."""
    sock = os.environ.get("WEZPARALLEL_SOCKET", "")
    pid, event, timeout, spool_file = "", "", DEFAULT_TIMEOUT, ""
    it = iter(argv)
    for arg in it:
        if arg == "--socket":
            sock = next(it)
        elif arg == "--id":
            pid = next(it)
        elif arg == "--timeout":
            timeout = float(next(it))
        elif arg == "--spool":
            spool_file = next(it)
        elif arg.startswith("-"):
            raise ValueError(f"unknown option {arg}")
        else:
            event = arg
    if not (sock and pid):
        raise ValueError("--socket and --id are required")
    return sock, pid, event, timeout, spool_file


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
    """Send the request and wait for the reply line (or EOF) until the deadline; NotDelivered
    when it could not be sent."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sent = 0
        try:
            sock.settimeout(max(0.001, deadline - time.monotonic()))
            sock.connect(sock_path)
            while sent < len(line):
                sent += sock.send(line[sent:])
        except OSError as exc:  # missing, refused, timed out, reset
            if sent == 0:  # nothing left: the daemon cannot have it
                raise NotDelivered(exc) from exc
            raise  # part of it went: the daemon takes a last line without its newline too
        received = b""
        while b"\n" not in received:
            sock.settimeout(max(0.001, deadline - time.monotonic()))
            data = sock.recv(4096)
            if not data:
                break
            received += data


def spool(path: str, line: bytes, wall: float, *, taken_ok: bool = False) -> bool:
    """Append the request, stamped, to the spool; False when a daemon renamed the file away
    between our open and our lock (it is up and replaying: send to it instead), unless
    `taken_ok`. A full spool takes no more lines (the event is lost, the disk is not)."""
    import fcntl  # only when the daemon is down: the usual run does without it
    request_obj = json.loads(line)
    entry = json.dumps({"time": wall, "request": request_obj},
                       separators=(",", ":")).encode() + b"\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW,
                 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        info = os.fstat(fd)
        try:
            named = os.lstat(path)
        except FileNotFoundError:
            named = None
        if not taken_ok and (named is None or (named.st_dev, named.st_ino)
                             != (info.st_dev, info.st_ino)):
            return False
        event = request_obj["params"]["event"]
        limit = MAX_SPOOL // 2 if event == "PreToolUse" else MAX_SPOOL
        if info.st_size + len(entry) <= limit:
            os.write(fd, entry)
        return True
    finally:
        os.close(fd)  # releases the lock


def deliver(sock_path: str, spool_path: str, line: bytes, deadline: float,
            wall: float) -> None:
    """Send; failing that, spool; a spool taken meanwhile means a daemon is up: send again
    (a moment past the deadline if need be), then spool whatever happens."""
    try:
        send(sock_path, line, deadline)
        return
    except NotDelivered:
        if not spool_path:
            raise
    if spool(spool_path, line, wall):
        return
    try:
        send(sock_path, line, max(deadline, time.monotonic() + 0.2))
    except NotDelivered:
        spool(spool_path, line, wall, taken_ok=True)


def main(argv: list[str] | None = None) -> int:
    start, wall = time.monotonic(), time.time()  # the event's own time, for the spool
    try:
        sock_path, process_id, event, timeout, spool_path = parse_args(
            sys.argv[1:] if argv is None else argv)
        deadline = start + timeout
        line = request(read_stdin(deadline), process_id, event)
        deliver(sock_path, spool_path, line, deadline, wall)
    except BaseException as exc:  # never fail the hook, whatever happened
        if os.environ.get("WEZPARALLEL_REPORT_DEBUG"):
            print(f"wezparallel report: {exc!r}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
