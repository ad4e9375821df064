"""The dashboard's listening socket, bound before anything else and without aiohttp.

Binding first (as the control socket does) makes a taken port a clean error before the daemon
touches a process, and gives the URL at once, while aiohttp (about half a second to import)
loads in the background once supervision runs: a page that connects meanwhile waits in the
listen backlog, and no process waits for the web server to start.
"""

from __future__ import annotations

import errno
import logging
import socket

from wezparallel.errors import WezparallelError
from wezparallel.web.settings import DashboardAddress

log = logging.getLogger(__name__)

BACKLOG = 128


def bind(address: DashboardAddress) -> socket.socket:
    """A listening socket on the first free candidate port; a WezparallelError otherwise."""
    family = socket.AF_INET6 if ":" in address.host else socket.AF_INET
    candidates = address.candidates()
    for i, port in enumerate(candidates):
        sock = socket.socket(family, socket.SOCK_STREAM)
        # a restarted daemon takes its port back from the last one's TIME_WAIT connections
        # (on Linux SO_REUSEADDR never lets two listeners share a port)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((address.host, port))
            sock.listen(BACKLOG)
        except OSError as exc:
            sock.close()
            if exc.errno == errno.EADDRINUSE and i < len(candidates) - 1:
                log.info("dashboard: port %d is taken; using a free one", port)
                continue
            raise WezparallelError(
                f"dashboard: cannot listen on {address.host}:{port}: {exc.strerror or exc} "
                "(--dashboard HOST:PORT picks another, port 0 a free one; --no-dashboard "
                "turns it off)") from None
        sock.setblocking(False)
        return sock
    raise AssertionError("no candidate port")  # candidates() is never empty


def url_of(sock: socket.socket, host: str) -> str:
    """http://HOST:PORT/ of a bound socket (IPv6 in brackets)."""
    port = int(sock.getsockname()[1])
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"
