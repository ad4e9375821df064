"""`python -m benchmarks.subscribers SOCKET N`: N `subscribe` streams (batched, as `wezparctl
events -f` asks for them) held open and read, bytes discarded, until terminated. One small
process, so the readers' own CPU barely competes with the daemon whose fan-out is measured."""

from __future__ import annotations

import json
import selectors
import socket
import sys


def main(path: str, count: int) -> int:
    sel = selectors.DefaultSelector()
    request = json.dumps({"id": 1, "method": "subscribe", "params": {"batch": True}}).encode()
    for _ in range(count):
        sock = socket.socket(socket.AF_UNIX)
        sock.connect(path)
        sock.sendall(request + b"\n")
        sel.register(sock, selectors.EVENT_READ)
    while True:
        for key, _ in sel.select():
            reader = key.fileobj
            assert isinstance(reader, socket.socket)
            if not reader.recv(1 << 16):
                return 1  # the daemon went away


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2])))
