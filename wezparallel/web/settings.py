"""Where the dashboard listens: `--dashboard HOST:PORT`, `--no-dashboard`, WEZPARALLEL_DASHBOARD.

On by default, at a fixed loopback port (so a bookmarked page finds a restarted daemon again),
falling back to a free port when another program holds it. Only loopback addresses are
accepted: the page can start programs, so it must never be reachable from the network.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

ENV = "WEZPARALLEL_DASHBOARD"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7787
OFF_WORDS = frozenset({"off", "no", "false", "0", "none"})
ON_WORDS = frozenset({"on", "yes", "true", "1", ""})


@dataclass(frozen=True)
class DashboardAddress:
    host: str  # a loopback address or `localhost`
    port: int  # 0: any free port
    fallback: bool  # the default port: take a free one when it is taken

    def candidates(self) -> list[int]:
        """Ports to try in order."""
        return [self.port, 0] if self.fallback and self.port else [self.port]


DEFAULT = DashboardAddress(DEFAULT_HOST, DEFAULT_PORT, fallback=True)


def is_loopback_name(host: str) -> bool:
    """`localhost`, a name under `.localhost`, 127.0.0.0/8 or ::1 (brackets allowed)."""
    name = host.strip().rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def parse(value: str, where: str) -> DashboardAddress | None:
    """`HOST:PORT`, `:PORT`, `on` (the default) or `off` (None); a ValueError naming `where`
    (the flag or variable) otherwise."""
    text = value.strip()
    if text.lower() in OFF_WORDS:
        return None
    if text.lower() in ON_WORDS:
        return DEFAULT
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit() or int(port_text) > 65535:
        raise ValueError(f"{where}: '{value}' is not HOST:PORT (e.g. 127.0.0.1:{DEFAULT_PORT}, "
                          "port 0 for a free one), 'on' or 'off'")
    host = host or DEFAULT_HOST
    if not is_loopback_name(host):
        raise ValueError(f"{where}: '{host}' is not a loopback address; the dashboard is "
                          "served on loopback only (127.0.0.1, ::1 or localhost)")
    return DashboardAddress(host.strip("[]"), int(port_text), fallback=False)


def resolve(flag: str | None, off: bool, environ: Mapping[str, str]) -> DashboardAddress | None:
    """The flag, else the environment variable, else the default (on)."""
    if off:
        return None
    if flag is not None:
        return parse(flag, "--dashboard")
    if ENV in environ:
        return parse(environ[ENV], ENV)
    return DEFAULT
