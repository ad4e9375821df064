"""`wezparctl attach` of a pane in a WezTerm workspace the GUI does not show.

`wezterm cli activate-pane` makes a pane active in its tab and window, but the GUI shows one
workspace and `wezterm cli` has no verb to switch it. A Lua config can
(`SwitchToWorkspace`), so `attach` asks the wezparallel Lua module through a user variable,
`wezparallel_attach`, written to this terminal: the GUI fires `user-var-changed` for panes of
the window it shows (wezterm-gui/src/termwindow/mod.rs `emit_user_var_event`), which the pane
running `attach` is. Then it asks the daemon again until the GUI shows the workspace, or says
plainly that nothing switched.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

from wezparallel.backends.panewrap import user_var

SWITCH_VAR = "wezparallel_attach"
WAIT = 2.0  # seconds the Lua module gets to switch workspaces


def request(pane: str, workspace: str, environ: Mapping[str, str]) -> bool:
    """Writes the request to this terminal; False outside a WezTerm pane or without one."""
    if not environ.get("WEZTERM_PANE"):
        return False
    data = user_var(SWITCH_VAR, json.dumps({"pane": pane, "workspace": workspace}))
    if os.isatty(1):
        return _write(1, data)
    try:
        fd = os.open("/dev/tty", os.O_WRONLY | os.O_NOCTTY)
    except OSError:
        return False
    try:
        return _write(fd, data)
    finally:
        os.close(fd)


def _write(fd: int, data: bytes) -> bool:
    try:
        os.write(fd, data)
    except OSError:
        return False
    return True


def not_shown(process_id: str, workspace: str, asked: bool) -> str:
    """Why the pane is not on screen, and what to do about it."""
    what = (f"the pane of {process_id} is active in WezTerm workspace {workspace!r}, which "
            "WezTerm does not show")
    if asked:
        return (f"{what}, and nothing switched to it within {WAIT:.0f}s: load the wezparallel "
                "Lua module in wezterm.lua (docs/lua.md) so attach can switch workspaces, or "
                "switch yourself (e.g. ShowLauncherArgs { flags = 'WORKSPACES' })")
    return (f"{what}: run attach in a WezTerm pane with the wezparallel Lua module loaded "
            "(docs/lua.md), or switch yourself (e.g. ShowLauncherArgs { flags = 'WORKSPACES' })")
