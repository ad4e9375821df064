"""Which running WezTerm `wezterm cli` should talk to, found afresh whenever it matters.

Left to itself `wezterm cli` (wezterm-client/src/client.rs, `compute_unix_domain` and
`unix_connect`) takes `$WEZTERM_UNIX_SOCKET`, else the GUI published for its window class, else
the config's first unix domain; and when that last one does not answer it starts
`wezterm-mux-server --daemonize` and retries. A daemon would then put its panes in a headless
mux nobody sees. And a daemon started from a GUI's `gui-startup` inherits that GUI's
`WEZTERM_UNIX_SOCKET=.../gui-sock-<pid>`, which is dead once that GUI exits.

So every call runs with `--no-auto-start` and an explicit `WEZTERM_UNIX_SOCKET`: the inherited
socket while something answers on it, else the newest `gui-sock-<pid>` in WezTerm's runtime
dir that answers (how wezterm-client/src/discovery.rs `discover_gui_socks` tells live GUIs
from stale files), else "WezTerm is not running".
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from pathlib import Path

from wezparallel.errors import BackendError

GUI_SOCK_PREFIX = "gui-sock-"


class WezTermNotRunning(BackendError):
    """No WezTerm answers: nothing to put panes in (yet). A `BackendError` like any failed
    `wezterm cli` call (so every path that copes with one copes with this), and not a
    permanent one: the user may start WezTerm, and a spawn is retried with backoff."""

    def __init__(self, message: str) -> None:
        BackendError.__init__(self, "wezterm", ("cli",), 1, message)
        self.args = (message,)

    def __str__(self) -> str:
        return str(self.args[0])


def runtime_dir(environ: Mapping[str, str]) -> Path:
    """WezTerm's RUNTIME_DIR (config/src/config.rs `compute_runtime_dir`): `wezterm` under the
    XDG runtime dir, else ~/.local/share/wezterm."""
    xdg = environ.get("XDG_RUNTIME_DIR")
    if xdg:
        return Path(xdg) / "wezterm"
    home = environ.get("HOME") or str(Path.home())
    return Path(home) / ".local" / "share" / "wezterm"


def answers(path: Path) -> bool:
    """Something accepts connections on the socket: the test WezTerm itself uses."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(1.0)
        try:
            s.connect(str(path))
        except OSError:
            return False
    return True


def gui_sockets(directory: Path) -> list[Path]:
    """The `gui-sock-*` entries of the runtime dir, newest first."""
    try:
        entries = [e for e in directory.iterdir() if e.name.startswith(GUI_SOCK_PREFIX)]
    except OSError:
        return []
    dated = []
    for entry in entries:
        try:
            dated.append((entry.lstat().st_mtime, entry.name, entry))
        except OSError:
            continue
    return [entry for *_, entry in sorted(dated, reverse=True)]


def gui_pid(path: Path) -> int | None:
    """The GUI's pid from its socket's name (wezterm-gui/src/main.rs names it after itself)."""
    suffix = path.name.removeprefix(GUI_SOCK_PREFIX)
    return int(suffix) if path.name.startswith(GUI_SOCK_PREFIX) and suffix.isdigit() else None


def find_socket(environ: Mapping[str, str]) -> Path:
    """The socket of the WezTerm to use now; `WezTermNotRunning` naming what was tried."""
    tried = []
    inherited = environ.get("WEZTERM_UNIX_SOCKET")
    if inherited:
        if answers(Path(inherited)):
            return Path(inherited)
        tried.append(f"$WEZTERM_UNIX_SOCKET {inherited} does not answer")
    directory = runtime_dir(environ)
    stale = 0
    for candidate in gui_sockets(directory):
        if answers(candidate):
            return candidate
        stale += 1
    tried.append(f"no live {GUI_SOCK_PREFIX}* in {directory}"
                 + (f" ({stale} stale)" if stale else ""))
    raise WezTermNotRunning(
        f"WezTerm is not running: {'; '.join(tried)}. Start WezTerm (wezparallel never starts "
        "a hidden mux server), or use backend: tmux")


def still_answers(path: Path | None) -> bool:
    return path is not None and os.path.exists(path) and answers(path)
