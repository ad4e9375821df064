"""`wezparallel`: the daemon (wired in the engine issue)."""

from __future__ import annotations


def main() -> None:
    raise SystemExit("wezparallel daemon: not built yet")
