"""The dashboard's rules, each against a real daemon with real HTTP requests and WebSockets:
the token (and its cookie), the Host check (DNS rebinding), the Origin check, and a refusal
that says nothing but its status."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support import DaemonProcess, retry_until
from tests.web.kit import Site, conf, dashboard_url, run_async, sleeper, start_dashboard

Factory = Callable[..., DaemonProcess]
PATHS = [("GET", "/"), ("GET", "/static/app.js"), ("POST", "/api/status"), ("GET", "/ws")]


@pytest.fixture
def site(daemon_factory: Factory) -> Site:
    _, s = start_dashboard(daemon_factory, {"ws.yaml": conf({"a": sleeper()})})
    return s


def test_the_token_is_kept_private_in_the_state_dir_and_survives_a_restart(
        daemon_factory: Factory) -> None:
    d, s = start_dashboard(daemon_factory, {"ws.yaml": conf({"a": sleeper()})})
    path = d.state / "dashboard.token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == s.token and len(s.token) >= 32
    assert f"dashboard: {s.base}?token={s.token}" in d.daemon_log()
    d.stop()
    d.start()  # an open page keeps its cookie: the token must not change
    assert Site.of(d).token == s.token


def test_a_token_readable_by_others_is_replaced(daemon_factory: Factory) -> None:
    d = daemon_factory({"ws.yaml": conf({"a": sleeper()})}, extra=("--dashboard", "127.0.0.1:0"))
    d.state.mkdir(parents=True)
    leaked = "x" * 40
    (d.state / "dashboard.token").write_text(leaked)
    os.chmod(d.state / "dashboard.token", 0o644)
    d.start()
    assert Site.of(d).token != leaked


@pytest.mark.parametrize(("method", "path"), PATHS)
def test_without_a_token_every_path_is_401_and_nothing_else(site: Site, method: str,
                                                             path: str) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"},
                    {"Cookie": site.cookie().replace(site.token, "wrong" * 8)}):
        status, hdrs, body = site.request(method, path, headers)
        assert (status, body) == (401, b"unauthorized"), (headers, status, body)
        assert "Set-Cookie" not in hdrs


def test_the_url_token_becomes_an_httponly_strict_cookie(site: Site) -> None:
    status, headers, _ = site.request("GET", f"/?token={site.token}")
    assert status == 302
    assert headers["Location"] == "/"  # the token leaves the address bar
    cookie = headers["Set-Cookie"]
    assert cookie.startswith(site.cookie() + ";")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    status, headers, body = site.request("GET", "/", {"Cookie": site.cookie()})
    assert status == 200 and b'id="procs"' in body
    assert "default-src 'self'" in headers["Content-Security-Policy"]


@pytest.mark.parametrize("host", ["evil.example:80", "evil.example", "192.168.1.5", ""])
def test_a_host_that_is_not_loopback_is_refused_even_with_the_token(site: Site,
                                                                     host: str) -> None:
    """DNS rebinding: a page at evil.example resolving to 127.0.0.1 sends its own Host."""
    for method, path in PATHS:
        status, _, body = site.request(method, f"{path}?token={site.token}",
                                       {"Host": host, "Cookie": site.cookie()})
        assert (status, body) == (403, b"forbidden host"), (method, path, host)


def test_a_foreign_origin_is_refused_on_posts_and_pages(site: Site) -> None:
    for origin in ("http://evil.example", "null", f"https://{site.host}",
                   "http://127.0.0.1:1"):
        for method, path in PATHS:
            status, _, body = site.request(method, path, {
                "Cookie": site.cookie(), "Origin": origin,
                "Authorization": f"Bearer {site.token}"})
            assert (status, body) == (403, b"forbidden origin"), (origin, method, path)
    status, _, body = site.request("POST", "/api/status", {
        "Cookie": site.cookie(), "Origin": f"http://{site.host}"}, body={})
    assert status == 200 and json.loads(body)["result"]["processes"][0]["id"] == "ws:a"


def test_a_post_on_the_cookie_alone_must_show_its_origin(site: Site) -> None:
    status, _, body = site.request("POST", "/api/stop", {"Cookie": site.cookie()},
                                   body={"ids": ["ws:a"]})
    assert (status, body) == (403, b"forbidden: no origin")
    status, _, body = site.request("POST", "/api/status",
                                   {"Authorization": f"Bearer {site.token}"}, body={})
    assert status == 200, body  # a script with the token needs no Origin


def test_api_errors_are_the_socket_methods_errors(site: Site) -> None:
    auth = {"Authorization": f"Bearer {site.token}"}
    status, _, body = site.request("POST", "/api/restart", auth, body={"ids": ["ws:nope"]})
    assert status == 404
    assert json.loads(body)["error"] == {"code": "not_found",
                                         "message": "no process matches 'ws:nope'"}
    status, _, body = site.request("POST", "/api/shutdown", auth, body={})
    assert status == 404 and json.loads(body)["error"]["code"] == "unknown_method"
    status, _, body = site.request("POST", "/api/logs", auth, body={"id": "ws:a", "follow": True})
    assert (status, json.loads(body)["error"]["message"]) == (
        400, "a streaming call needs the WebSocket (/ws)")
    status, _, body = site.request("POST", "/api/logs", auth, body={"id": "ws:a", "lines": 5})
    assert status == 200 and json.loads(body)["result"]["id"] == "ws:a"


async def _ws_status(site: Site, headers: dict[str, str]) -> int:
    async with aiohttp.ClientSession() as session:
        try:
            async with session.ws_connect(f"{site.base}ws", headers=headers) as ws:
                await ws.close()
                return 101
        except aiohttp.WSServerHandshakeError as exc:
            return exc.status


def test_the_websocket_upgrade_checks_origin_and_token(site: Site) -> None:
    own = f"http://{site.host}"
    cases = [({"Origin": "http://evil.example", "Cookie": site.cookie()}, 403),
             ({"Origin": own}, 401),
             ({"Cookie": site.cookie()}, 403),  # a cookie without an Origin
             ({"Origin": own, "Cookie": site.cookie()}, 101),
             ({"Authorization": f"Bearer {site.token}"}, 101)]
    for headers, expected in cases:
        assert run_async(_ws_status(site, headers)) == expected, headers


def _events(got: list[dict[str, Any]]) -> list[tuple[str | None, str | None]]:
    return [(e.get("id"), e.get("to")) for m in got if m.get("type") == "events"
            for e in m["events"]]


async def _ws_session(site: Site, calls: list[dict[str, Any]],
                      until: tuple[str, str]) -> list[dict[str, Any]]:
    """Connect as the page does, read the snapshot, make the calls, read on until the event
    `until` (id, to) came; every message back."""
    got: list[dict[str, Any]] = []
    headers = {"Origin": f"http://{site.host}", "Cookie": site.cookie()}
    async with aiohttp.ClientSession() as session, \
            session.ws_connect(f"{site.base}ws", headers=headers) as ws:
        got.append(await ws.receive_json(timeout=15))
        for call in calls:
            await ws.send_json(call)
            while True:
                msg = await ws.receive_json(timeout=45)
                got.append(msg)
                if msg.get("id") == call["id"] and msg["type"] in ("reply", "error"):
                    break
        while until not in _events(got):
            got.append(await ws.receive_json(timeout=15))
    return got


def test_commands_over_the_websocket_go_through_the_socket_verbs(
        daemon_factory: Factory) -> None:
    d, s = start_dashboard(daemon_factory, {"ws.yaml": conf({"a": sleeper()})})
    before = d.wait_state("ws:a", "RUNNING")["pid"]
    got = run_async(_ws_session(s, [
        {"id": 1, "method": "restart", "params": {"ids": ["ws:a"]}},
        {"id": 2, "method": "stop", "params": {"ids": ["ws:zz"]}},
        {"id": 3, "method": "shutdown", "params": {}}], until=("ws:a", "STOPPING")))
    snapshot = got[0]["events"][0]
    assert got[0]["type"] == "events" and snapshot["type"] == "snapshot"
    assert [p["id"] for p in snapshot["status"]["processes"]] == ["ws:a"]
    replies = {m["id"]: m for m in got if m.get("type") in ("reply", "error")}
    result = replies[1]["result"]["results"][0]
    assert result["ok"] and result["pid"] != before
    assert d.process("ws:a")["pid"] == result["pid"]
    assert replies[2]["error"] == {"code": "not_found", "message": "no process matches 'ws:zz'"}
    assert replies[3]["error"]["code"] == "unknown_method"
    assert d.ctl("ping").returncode == 0  # shutdown is not the page's to call


def test_no_dashboard_loads_no_aiohttp_and_ctl_says_it_is_off(daemon_factory: Factory) -> None:
    def maps(d: DaemonProcess) -> str:
        assert d.proc is not None
        return Path(f"/proc/{d.proc.pid}/maps").read_text()

    off = daemon_factory({"ws.yaml": conf({"a": sleeper()})}, extra=("--no-dashboard",))
    on = daemon_factory({"ws.yaml": conf({"a": sleeper()})}, extra=("--dashboard", "127.0.0.1:0"))
    off.start()
    on.start()
    # the one with the dashboard loads aiohttp in the background, once its processes start
    retry_until(lambda: "_http_parser" in maps(on), 15, 0.05, "aiohttp in the daemon")
    assert "aiohttp" not in maps(off) and "_http_parser" not in maps(off)
    out = off.ctl("dashboard")
    assert out.returncode == 1
    assert out.stderr.strip() == ("wezparctl: the dashboard is off in this daemon (started "
                                  "with --no-dashboard or WEZPARALLEL_DASHBOARD=off)")


@pytest.mark.parametrize(("value", "message"), [
    ("0.0.0.0:8080", "'0.0.0.0' is not a loopback address"),
    ("example.com:80", "'example.com' is not a loopback address"),
    ("127.0.0.1", "'127.0.0.1' is not HOST:PORT"),
    ("127.0.0.1:99999", "'127.0.0.1:99999' is not HOST:PORT")])
def test_a_bad_address_is_a_usage_error(daemon_factory: Factory, value: str,
                                        message: str) -> None:
    d = daemon_factory({}, extra=("--dashboard", value))
    d.start(wait=False)
    assert d.proc is not None
    assert d.proc.wait(timeout=30) == 2
    log = d.daemon_log()
    assert f"--dashboard: {message}" in log and "Traceback" not in log


def test_the_default_port_falls_back_to_a_free_one_when_taken(
        daemon_factory: Factory, monkeypatch: pytest.MonkeyPatch) -> None:
    from wezparallel.web.settings import DEFAULT_PORT

    holder = socket.socket()
    try:
        holder.bind(("127.0.0.1", DEFAULT_PORT))
        holder.listen()
    except OSError:
        pass  # someone else holds it: just as good
    try:
        monkeypatch.setenv("WEZPARALLEL_DASHBOARD", "on")
        d = daemon_factory({"ws.yaml": conf({"a": sleeper()})})
        d.start()
        url = dashboard_url(d)
        assert not url.startswith(f"http://127.0.0.1:{DEFAULT_PORT}/")
        s = Site.of(d)
        assert s.request("GET", "/", {"Cookie": s.cookie()})[0] == 200
        assert "is taken; using a free one" in d.daemon_log()
    finally:
        holder.close()


def test_an_explicit_port_that_is_taken_is_a_clear_error(daemon_factory: Factory) -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        d = daemon_factory({}, extra=("--dashboard", f"127.0.0.1:{port}"))
        d.start(wait=False)
        assert d.proc is not None
        assert d.proc.wait(timeout=30) == 1
        retry_until(lambda: "dashboard: cannot listen on 127.0.0.1" in d.daemon_log(), 5)
        assert "Traceback" not in d.daemon_log()
    finally:
        holder.close()


async def _lagging(site: Site, queue: int) -> tuple[list[dict[str, Any]], int | None]:
    """A page allowed `queue` events behind while a restart of everything bursts events."""
    got: list[dict[str, Any]] = []
    headers = {"Authorization": f"Bearer {site.token}"}
    async with aiohttp.ClientSession() as session, \
            session.ws_connect(f"{site.base}ws?queue={queue}", headers=headers) as ws:
        got.append(await ws.receive_json(timeout=15))
        await ws.send_json({"id": 1, "method": "restart",
                            "params": {"ids": ["all"], "wait": False}})
        while True:
            msg = await ws.receive(timeout=30)
            if msg.type != aiohttp.WSMsgType.TEXT:
                return got, ws.close_code
            got.append(json.loads(msg.data))


def test_a_page_that_falls_behind_is_told_lagged_and_closed_to_reconnect(
        daemon_factory: Factory) -> None:
    d, s = start_dashboard(daemon_factory, {"ws.yaml": conf(
        {f"p{i}": sleeper() for i in range(6)})})
    for i in range(6):
        d.wait_state(f"ws:p{i}", "RUNNING")
    got, code = run_async(_lagging(s, 2))
    events = [e for m in got if m.get("type") == "events" for e in m["events"]]
    assert events[-1]["type"] == "lagged" and code == 4000, (events, code)
    assert "an event subscriber fell 2 events behind; dropped it" in d.daemon_log()
    status, _, _ = s.request("GET", "/ws?queue=0", {"Authorization": f"Bearer {s.token}"})
    assert status == 400


def test_wezparctl_dashboard_does_not_load_aiohttp() -> None:
    import subprocess
    import sys

    code = ("import sys; sys.argv=['wezparctl','--socket','/nonexistent/x.sock','dashboard'];\n"
            "from wezparallel.cli.ctl import main\n"
            "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
            "print(code, [m for m in sys.modules if m.split('.')[0] == 'aiohttp'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=30)
    assert out.stdout.strip() == "3 []", out.stdout + out.stderr


def test_dashboard_open_hands_the_url_to_the_browser(daemon_factory: Factory,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """`--open` goes through Python's webbrowser, which honours $BROWSER."""
    d, s = start_dashboard(daemon_factory, {"ws.yaml": conf({"a": sleeper()})})
    opened = d.root / "opened"
    browser = d.root / "browser"
    browser.write_text(f'#!/bin/sh\nprintf %s "$1" > "{opened}"\n')
    browser.chmod(0o755)
    monkeypatch.setenv("BROWSER", str(browser))
    out = d.ctl("dashboard", "--open")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"{s.base}?token={s.token}"
    retry_until(lambda: opened.exists() and opened.read_text() == out.stdout.strip(), 10)


async def _malformed(site: Site) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {site.token}"}
    async with aiohttp.ClientSession() as session, \
            session.ws_connect(f"{site.base}ws", headers=headers) as ws:
        await ws.receive_json(timeout=15)  # the snapshot
        await ws.send_str("not json")
        await ws.send_json({"id": [1], "method": "status"})
        await ws.send_json({"cancel": {"x": 1}})
        await ws.send_json({"id": 7, "method": "ping"})
        got = [await ws.receive_json(timeout=15) for _ in range(3)]
    return got


def test_a_malformed_message_is_answered_and_the_socket_goes_on(site: Site) -> None:
    got = run_async(_malformed(site))
    assert [m["error"]["message"] for m in got[:2]] == [
        "not JSON", "a call needs an id (a number or a string)"]
    assert got[2]["type"] == "reply" and got[2]["id"] == 7 and got[2]["result"]["pong"]


def test_a_page_that_never_answers_does_not_hold_up_the_daemons_stop(
        daemon_factory: Factory) -> None:
    """aiohttp waits a minute for open connections by default; a stopping daemon gives them
    seconds (the reconnect browser test hit the minute now and then)."""
    import signal
    import time

    d, site = start_dashboard(daemon_factory, {"ws.yaml": conf({"a": sleeper()})})
    headers = {"Authorization": f"Bearer {site.token}"}

    async def scenario() -> float:
        async with aiohttp.ClientSession() as session, \
                session.ws_connect(f"{site.base}ws", headers=headers) as ws:
            await ws.receive_json(timeout=15)  # the snapshot: the session is up
            await ws.send_json({"id": 1, "method": "logs",  # a live stream, as the page opens
                                "params": {"id": "ws:a", "lines": 5, "follow": True}})
            await asyncio.sleep(0.5)
            assert d.proc is not None
            start = time.monotonic()
            d.proc.send_signal(signal.SIGTERM)
            while d.proc.poll() is None and time.monotonic() - start < 30:
                await asyncio.sleep(0.05)  # never reading: the close frame goes unanswered
            return time.monotonic() - start

    took = run_async(scenario())
    assert took < 10, f"the daemon took {took:.1f}s to stop"
