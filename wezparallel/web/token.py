"""The dashboard's secret: a random token kept in the state dir, readable by its owner only.

Made on the first start and kept across restarts, so an open page (holding it in a cookie)
reconnects to a restarted daemon; delete the file to make a new one.
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

FILE_NAME = "dashboard.token"
MIN_LENGTH = 32


def load_or_create(state_dir: Path) -> str:
    """The token in STATE_DIR/dashboard.token, made (0600) when missing, too short, or
    readable by others (then it may be known: a new one replaces it)."""
    path = state_dir / FILE_NAME
    try:
        mode = path.stat().st_mode & 0o777
        token = path.read_text().strip()
        if mode == 0o600 and len(token) >= MIN_LENGTH and token.isascii():
            return token
    except (OSError, UnicodeDecodeError):
        pass
    token = secrets.token_urlsafe(32)
    tmp = path.with_name(f".{FILE_NAME}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(token + "\n")
    os.replace(tmp, path)
    return token


def matches(given: str | None, token: str) -> bool:
    """Compared in constant time: the answer's timing says nothing about the token."""
    return given is not None and hmac.compare_digest(given.encode(), token.encode())
