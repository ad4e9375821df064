"""Who may use the dashboard: the pure decision, from a request's headers and its token.

The rules (the ones Jupyter and the browser-security notes in the design follow):
- the `Host` header must be a loopback name, so a page on an attacker's domain that resolves
  to 127.0.0.1 (DNS rebinding) is refused even with the victim's cookie;
- an `Origin`, when sent, must be this very origin (scheme, host and port);
- every request carries the token: `?token=` (exchanged for a cookie), a `Bearer` header, or
  the HttpOnly SameSite=Strict cookie;
- what changes something (POST, a WebSocket) on the cookie alone must also show its Origin:
  browsers always send one there, so a missing one means a request we cannot place.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from wezparallel.web import token as tokens
from wezparallel.web.settings import is_loopback_name

COOKIE = "wezparallel_dashboard"
SAFE_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class RequestFacts:
    method: str
    host: str | None  # the Host header
    origin: str | None  # the Origin header
    query_token: str | None
    header_token: str | None  # Authorization: Bearer ...
    cookie_token: str | None
    websocket: bool = False


@dataclass(frozen=True)
class Verdict:
    status: int  # 200 allowed, else 401 or 403
    reason: str
    set_cookie: bool = False  # a valid ?token= to exchange for the cookie

    @property
    def allowed(self) -> bool:
        return self.status == 200


def host_name(host: str) -> str:
    """`127.0.0.1:8080` -> `127.0.0.1`, `[::1]:80` -> `::1`."""
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def same_origin(origin: str, host: str) -> bool:
    parts = urlsplit(origin)
    return parts.scheme == "http" and parts.netloc.lower() == host.lower()


def decide(facts: RequestFacts, token: str) -> Verdict:
    if not facts.host or not is_loopback_name(host_name(facts.host)):
        return Verdict(403, "forbidden host")
    if facts.origin is not None and not same_origin(facts.origin, facts.host):
        return Verdict(403, "forbidden origin")
    explicit = tokens.matches(facts.query_token, token) or \
        tokens.matches(facts.header_token, token)
    if not explicit and not tokens.matches(facts.cookie_token, token):
        return Verdict(401, "unauthorized")
    mutating = facts.websocket or facts.method.upper() not in SAFE_METHODS
    if mutating and not explicit and facts.origin is None:
        return Verdict(403, "forbidden: no origin")
    return Verdict(200, "ok", set_cookie=tokens.matches(facts.query_token, token))
