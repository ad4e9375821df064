"""Where things live, decided the same way by every command.

Each location comes from a flag, else an environment variable, else an XDG default. The socket
directory is created 0700 so nobody else can even see the socket.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CONF_DIR_ENV = "WEZPARALLEL_CONF_DIR"
STATE_DIR_ENV = "WEZPARALLEL_STATE_DIR"
SOCKET_ENV = "WEZPARALLEL_SOCKET"


def _xdg(var: str, fallback: str) -> Path:
    value = os.environ.get(var)
    return Path(value) if value else Path.home() / fallback


def default_conf_dir() -> Path:
    """`./conf.d` when it exists (a checkout, a team's config repo), else the XDG config dir."""
    local = Path("conf.d")
    if local.is_dir():
        return local
    return _xdg("XDG_CONFIG_HOME", ".config") / "wezparallel" / "conf.d"


def default_state_dir() -> Path:
    return _xdg("XDG_STATE_HOME", ".local/state") / "wezparallel"


def default_socket() -> Path:
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return Path(runtime) / "wezparallel.sock"
    return Path(f"/tmp/wezparallel-{os.getuid()}") / "wezparallel.sock"


@dataclass(frozen=True)
class Paths:
    """The three locations every command agrees on."""

    conf_dir: Path
    state_dir: Path
    socket: Path

    @property
    def status_file(self) -> Path:
        """The daemon's status snapshot, read by the WezTerm status bar without a process."""
        return self.state_dir / "status.json"

    @classmethod
    def resolve(cls, conf_dir: str | os.PathLike[str] | None = None,
                state_dir: str | os.PathLike[str] | None = None,
                socket: str | os.PathLike[str] | None = None) -> Paths:
        """Flags win over environment variables, which win over defaults."""
        conf = conf_dir or os.environ.get(CONF_DIR_ENV)
        state = state_dir or os.environ.get(STATE_DIR_ENV)
        sock = socket or os.environ.get(SOCKET_ENV)
        return cls(
            conf_dir=Path(conf) if conf else default_conf_dir(),
            state_dir=Path(state) if state else default_state_dir(),
            socket=Path(sock) if sock else default_socket(),
        )


def ensure_private_dir(path: Path) -> None:
    """Create `path` (and parents) and make sure only its owner can enter it."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
