"""Where things live, decided the same way by every command.

Each location comes from a flag, else an environment variable, else an XDG default, and is
made absolute right here, where it is read: the daemon hands its paths to programs that run
in other directories (the pane wrapper runs in the process's cwd, Claude Code's hooks in the
agent's), so a path relative to the daemon's cwd would point somewhere else for them.

Directories the daemon creates are created 0700 whatever the umask. A directory that already
exists is never chmod-ed: `--socket wez.sock` or `--socket /tmp/x.sock` must not strip the
cwd's or /tmp's mode. A socket directory other users may write is refused instead, since they
could replace the socket with their own.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from wezparallel.errors import PermanentError

CONF_DIR_ENV = "WEZPARALLEL_CONF_DIR"
STATE_DIR_ENV = "WEZPARALLEL_STATE_DIR"
SOCKET_ENV = "WEZPARALLEL_SOCKET"


def absolute(path: str | os.PathLike[str]) -> Path:
    """`~` expanded, made absolute against the cwd and normalised; symlinks are kept (the
    `..data` swap of mounted config relies on following them later, not now)."""
    return Path(os.path.abspath(os.path.expanduser(os.fspath(path))))


def _xdg(var: str, fallback: str) -> Path:
    """The XDG base directory spec: a relative value is invalid and is ignored."""
    value = os.environ.get(var)
    return Path(value) if value and os.path.isabs(value) else Path.home() / fallback


def default_conf_dir() -> Path:
    """`./conf.d` when it exists (a checkout, a team's config repo), else the XDG config dir."""
    local = Path("conf.d")
    if local.is_dir():
        return absolute(local)
    return _xdg("XDG_CONFIG_HOME", ".config") / "wezparallel" / "conf.d"


def default_state_dir() -> Path:
    return _xdg("XDG_STATE_HOME", ".local/state") / "wezparallel"


def default_socket() -> Path:
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime):
        return Path(runtime) / "wezparallel.sock"
    return Path(f"/tmp/wezparallel-{os.getuid()}") / "wezparallel.sock"


@dataclass(frozen=True)
class Paths:
    """The three locations every command agrees on, all absolute."""

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
            conf_dir=absolute(conf if conf else default_conf_dir()),
            state_dir=absolute(state if state else default_state_dir()),
            socket=absolute(sock if sock else default_socket()),
        )


def ensure_private_dir(path: Path) -> None:
    """Create `path` and its missing parents, each 0700; leave an existing one as it is."""
    missing = []
    current = absolute(path)
    while not os.path.lexists(current):
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=0o700)
        except FileExistsError:
            continue  # made meanwhile by someone else: not ours to chmod
        os.chmod(directory, 0o700)  # mkdir's mode went through the umask


def ensure_socket_dir(socket: Path) -> None:
    """The socket's directory exists and nobody but us can swap the socket in it."""
    directory = absolute(socket).parent
    ensure_private_dir(directory)
    info = os.stat(directory)
    if info.st_uid != os.getuid():
        raise PermanentError(f"socket directory {directory} belongs to another user (uid "
                             f"{info.st_uid}); use a directory of your own")
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not _own_group_only(info):
        raise PermanentError(
            f"socket directory {directory} is writable by other users, who could replace "
            f"the socket; use a directory only you can write (the daemon creates a missing "
            f"one 0700), e.g. --socket {directory}/wezparallel-{os.getuid()}/wezparallel.sock")


def _own_group_only(info: os.stat_result) -> bool:
    """Group-writable is fine when the group is the user's private group (umask 002 setups
    give every directory g+w); world-writable never is."""
    if info.st_mode & stat.S_IWOTH:
        return False
    import grp
    import pwd

    try:
        group = grp.getgrgid(info.st_gid)
        user = pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return False
    return group.gr_name == user and set(group.gr_mem) <= {user}
