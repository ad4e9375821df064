"""The pure parts: which addresses the dashboard accepts and the guard's verdicts."""

from __future__ import annotations

import pytest

from wezparallel.web import guard
from wezparallel.web.settings import DEFAULT, DashboardAddress, is_loopback_name, parse, resolve

TOKEN = "t" * 43


def facts(**kw: object) -> guard.RequestFacts:
    base: dict[str, object] = {"method": "GET", "host": "127.0.0.1:8000", "origin": None,
                               "query_token": None, "header_token": None,
                               "cookie_token": None}
    return guard.RequestFacts(**(base | kw))  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "ok"), [
    ("localhost", True), ("LOCALHOST.", True), ("app.localhost", True), ("127.0.0.1", True),
    ("127.8.9.1", True), ("::1", True), ("[::1]", True), ("0.0.0.0", False),
    ("localhost.evil.example", False), ("10.0.0.1", False), ("", False), ("::", False)])
def test_loopback_names(name: str, ok: bool) -> None:
    assert is_loopback_name(name) is ok


def test_addresses_and_the_default() -> None:
    assert parse("127.0.0.1:0", "x") == DashboardAddress("127.0.0.1", 0, fallback=False)
    assert parse("[::1]:9000", "x") == DashboardAddress("::1", 9000, fallback=False)
    assert parse(":9000", "x") == DashboardAddress("127.0.0.1", 9000, fallback=False)
    assert parse("off", "x") is None and parse("on", "x") == DEFAULT
    assert DEFAULT.candidates() == [DEFAULT.port, 0]
    assert parse("localhost:80", "x").candidates() == [80]  # type: ignore[union-attr]
    assert resolve(None, False, {}) == DEFAULT
    assert resolve(None, False, {"WEZPARALLEL_DASHBOARD": "off"}) is None
    assert resolve("127.0.0.1:5", False, {"WEZPARALLEL_DASHBOARD": "off"}) is not None
    assert resolve("127.0.0.1:5", True, {}) is None
    with pytest.raises(ValueError, match=r"^WEZPARALLEL_DASHBOARD: '1\.2\.3\.4' is not a loopback"):
        resolve(None, False, {"WEZPARALLEL_DASHBOARD": "1.2.3.4:80"})


@pytest.mark.parametrize(("kw", "status", "reason"), [
    ({}, 401, "unauthorized"),
    ({"query_token": TOKEN}, 200, "ok"),
    ({"header_token": TOKEN}, 200, "ok"),
    ({"cookie_token": TOKEN}, 200, "ok"),
    ({"cookie_token": TOKEN[:-1] + "x"}, 401, "unauthorized"),
    ({"cookie_token": TOKEN, "host": "evil.example:8000"}, 403, "forbidden host"),
    ({"cookie_token": TOKEN, "host": None}, 403, "forbidden host"),
    ({"cookie_token": TOKEN, "origin": "http://evil.example"}, 403, "forbidden origin"),
    ({"cookie_token": TOKEN, "origin": "http://127.0.0.1:8001"}, 403, "forbidden origin"),
    ({"cookie_token": TOKEN, "origin": "http://127.0.0.1:8000"}, 200, "ok"),
    ({"cookie_token": TOKEN, "method": "POST"}, 403, "forbidden: no origin"),
    ({"cookie_token": TOKEN, "websocket": True}, 403, "forbidden: no origin"),
    ({"cookie_token": TOKEN, "method": "POST", "origin": "http://127.0.0.1:8000"}, 200, "ok"),
    ({"header_token": TOKEN, "method": "POST"}, 200, "ok"),
    ({"host": "[::1]:8000", "origin": "http://[::1]:8000", "cookie_token": TOKEN,
      "websocket": True}, 200, "ok"),
])
def test_the_guard(kw: dict[str, object], status: int, reason: str) -> None:
    verdict = guard.decide(facts(**kw), TOKEN)
    assert (verdict.status, verdict.reason) == (status, reason)
    assert verdict.set_cookie is (status == 200 and "query_token" in kw)
