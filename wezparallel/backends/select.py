"""What `backend: auto` means on this machine, decided once per daemon.

Inside WezTerm (its GUI or mux exports `$WEZTERM_PANE` / `$WEZTERM_UNIX_SOCKET` to every pane)
processes go to WezTerm panes; otherwise to tmux panes when tmux is installed; otherwise they run
headless. Pure apart from the `which` lookup, which is injected so tests need no PATH games.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping

Which = Callable[[str, str | None], str | None]


def _which(program: str, path: str | None) -> str | None:
    return shutil.which(program, path=path)


def resolve_auto(environ: Mapping[str, str], which: Which = _which) -> str:
    """`wezterm`, `tmux` or `subprocess`, with the reason in `explain_auto`."""
    return explain_auto(environ, which)[0]


def explain_auto(environ: Mapping[str, str], which: Which = _which) -> tuple[str, str]:
    """The choice and a sentence saying why, for `status` and the daemon's log."""
    path = environ.get("PATH")
    inside = next((v for v in ("WEZTERM_PANE", "WEZTERM_UNIX_SOCKET") if environ.get(v)), None)
    if inside is not None and which("wezterm", path) is not None:
        return "wezterm", f"running inside WezTerm (${inside} is set)"
    skipped = f" (${inside} is set but `wezterm` is not on PATH)" if inside else ""
    if which("tmux", path) is not None:
        return "tmux", "tmux is installed and WezTerm is not in use" + skipped
    return "subprocess", "neither WezTerm nor tmux is available" + skipped
