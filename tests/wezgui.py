"""A running WezTerm GUI, as the `wezterm` stand-in (tests/fakes/wezterm) finds one.

wezterm-gui/src/main.rs listens on RUNTIME/gui-sock-<its pid> and publishes that path as the
symlink RUNTIME/x11-$DISPLAY-org.wezfurlong.wezterm (wezterm-client/src/discovery.rs); it
removes both when it exits cleanly, and leaves them behind when it crashes. Here the GUI's mux
is a private tmux server listening on `mux`, and gui-sock-<pid> is a symlink to it (connect()
follows it), so a test can look at the panes with plain tmux.
"""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

CLASS = "org.wezfurlong.wezterm"


@dataclass(frozen=True)
class FakeGui:
    runtime: Path  # WezTerm's RUNTIME_DIR: $XDG_RUNTIME_DIR/wezterm
    mux: Path  # the tmux socket standing for the GUI's mux
    pid: int  # the tmux server's pid, standing for the GUI's

    @property
    def sock(self) -> Path:
        return self.runtime / f"gui-sock-{self.pid}"

    @property
    def published(self) -> Path:
        return self.runtime / f"x11-{os.environ.get('DISPLAY', ':0')}-{CLASS}"

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-S", str(self.mux), *args], capture_output=True,
                              text=True, check=True, timeout=30).stdout

    def switch_workspace(self, workspace: str) -> None:
        """What `SwitchToWorkspace` does to the GUI client's active workspace."""
        self.tmux("set-option", "-s", "@gui_workspace", workspace)

    def crash(self) -> None:
        """The GUI dies without cleaning up: its gui-sock and published link stay, stale."""
        os.kill(self.pid, signal.SIGKILL)


def start_gui(xdg_runtime: Path, mux: Path, *, publish: bool = True) -> FakeGui:
    """A GUI under `xdg_runtime` (the caller sets $XDG_RUNTIME_DIR to it)."""
    subprocess.run(["tmux", "-S", str(mux), "-f", "/dev/null", "start-server", ";",
                    "set-option", "-s", "exit-empty", "off"], check=True, timeout=30,
                   capture_output=True)
    pid = int(subprocess.run(["tmux", "-S", str(mux), "display-message", "-p", "#{pid}"],
                             capture_output=True, text=True, check=True,
                             timeout=30).stdout)
    gui = FakeGui(xdg_runtime / "wezterm", mux, pid)
    gui.runtime.mkdir(parents=True, exist_ok=True)
    gui.sock.symlink_to(mux)
    if publish:
        gui.published.unlink(missing_ok=True)
        gui.published.symlink_to(gui.sock)
    return gui
