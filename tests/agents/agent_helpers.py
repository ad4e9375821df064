"""Helpers for the agent tests: a real Unix socket listener standing in for the daemon's
`agent_event` method, a deadline helper for polling real processes, and paths.

A uniquely named module (not `conftest`) so that `import` finds it whatever other test
directories hold."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

STUB = Path(__file__).resolve().parents[1] / "fakes" / "claude_stub.py"
SESSION_MARKER = "WEZPARALLEL_TEST_SESSION"  # tests/conftest.py finds orphans by it


def child_env(**env: str) -> dict[str, str]:
    """A minimal environment for a child, keeping the test session's orphan marker."""
    marker = os.environ.get(SESSION_MARKER)
    return {**env, **({SESSION_MARKER: marker} if marker else {})}


def wait_until(predicate: Callable[[], bool], timeout: float = 20.0,
               what: str = "condition") -> None:
    """Poll a real process's observable effect until it holds or the deadline passes."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


class EventListener:
    """Accepts connections, reads one NDJSON request each, records it and answers it."""

    def __init__(self, path: Path, reply: bool = True) -> None:
        self.path = path
        self.reply = reply
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(path))
        self._server.listen(16)
        self._server.settimeout(0.1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                data = b""
                while b"\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                if data.strip():
                    req = json.loads(data.split(b"\n")[0])
                    with self._lock:
                        self.requests.append(req)
                    if self.reply:
                        conn.sendall(b'{"id":%d,"result":null}\n' % req.get("id", 0))

    def events(self) -> list[str]:
        with self._lock:
            return [r["params"]["event"] for r in self.requests]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._server.close()
