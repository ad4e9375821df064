"""The page in Debian's chromium under Playwright, against a real daemon: it lists the
processes, follows a crash without a reload, restarts from its button, sends a prompt into an
agent's tmux pane (the Claude stand-in), shows a broken save in its banner, comes back after a
daemon restart, and refuses a page without the token or from another origin."""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.support import DaemonProcess, retry_until
from tests.web.kit import conf, sleeper, start_dashboard, stop_with_its_tmux, ticker, wait_row

Factory = Callable[..., DaemonProcess]
PageFor = Callable[..., Any]
FAKES = Path(__file__).resolve().parents[1] / "fakes"
STUB = FAKES / "claude_stub.py"
NO_BACKOFF = {"backoff": {"reset_after": 0}}


def _same_page(page: Any) -> None:
    """Mark the document; `_still_same_page` fails if it was reloaded since."""
    page.evaluate("window.__unreloaded = true")


def _still_same_page(page: Any) -> None:
    assert page.evaluate("window.__unreloaded === true"), "the page was reloaded"


def test_the_page_lists_every_process_grouped_and_filtered(daemon_factory: Factory,
                                                           page_for: PageFor) -> None:
    d, _ = start_dashboard(daemon_factory, {
        "web.yaml": conf({"api": sleeper(), "worker": sleeper(),
                          "off": {**sleeper(), "autostart": False}}, workspace="web"),
        "db.yaml": conf({"pg": sleeper()}, workspace="db")})
    for pid in ("web:api", "web:worker", "db:pg"):
        d.wait_state(pid, "RUNNING")
    page = page_for(d)
    status = {p["id"]: p for p in d.status()["processes"]}
    for pid in ("web:api", "web:worker", "db:pg"):
        wait_row(page, pid, "pid", lambda t, pid=pid: t == str(status[pid]["pid"]))
        assert wait_row(page, pid, "state", lambda t: t == "RUNNING")
    assert wait_row(page, "web:off", "state", lambda t: t == "STOPPED")
    assert page.inner_text('tr[data-id="web:off"] td.pid').strip() == "–"
    groups = page.eval_on_selector_all("#procs tr.group th", "els => els.map(e => e.textContent)")
    assert groups == ["db (1)", "web (3)"]
    page.keyboard.press("/")  # the filter is reachable from the keyboard
    page.keyboard.type("worker")
    retry_until(lambda: page.eval_on_selector_all(
        "#procs tr.proc", "els => els.map(e => e.dataset.id)") == ["web:worker"], 5)
    page.fill("#filter", "stopped")
    retry_until(lambda: page.eval_on_selector_all(
        "#procs tr.proc", "els => els.map(e => e.dataset.id)") == ["web:off"], 5)


def test_a_hundred_processes_in_four_workspaces(daemon_factory: Factory,
                                                page_for: PageFor) -> None:
    small = {"command": ["sleep", "1000"], "start_secs": 0}
    files = {f"w{k}.yaml": conf({f"p{i:02d}": small for i in range(25)}, workspace=f"w{k}")
             for k in range(4)}
    d, _ = start_dashboard(daemon_factory, files)
    retry_until(lambda: sum(p["state"] == "RUNNING" for p in d.status()["processes"]) == 100,
                60, 0.2, "100 processes RUNNING")
    page = page_for(d)
    ids = "els => els.map(e => e.dataset.id)"
    retry_until(lambda: len(page.eval_on_selector_all("#procs tr.proc", ids)) == 100, 15)
    groups = page.eval_on_selector_all("#procs tr.group th", "els => els.map(e => e.textContent)")
    assert groups == ["w0 (25)", "w1 (25)", "w2 (25)", "w3 (25)"]
    page.fill("#filter", "w2:")
    retry_until(lambda: page.eval_on_selector_all("#procs tr.proc", ids) == [
        f"w2:p{i:02d}" for i in range(25)], 5)
    page.uncheck("#group")
    retry_until(lambda: page.eval_on_selector_all("#procs tr.group", "els => els.length") == 0, 5)


def test_a_child_killed_with_sigkill_shows_its_new_pid_without_a_reload(
        daemon_factory: Factory, page_for: PageFor) -> None:
    d, _ = start_dashboard(daemon_factory, {"ws.yaml": conf({"a": {**sleeper(), **NO_BACKOFF}})})
    old = d.wait_state("ws:a", "RUNNING")["pid"]
    page = page_for(d)
    wait_row(page, "ws:a", "pid", lambda t: t == str(old))
    _same_page(page)
    os.kill(old, signal.SIGKILL)
    new = retry_until(lambda: (lambda p: p["pid"] if p["state"] == "RUNNING" and p["pid"] != old
                               else None)(d.process("ws:a")), 15, 0.05, "a new instance")
    wait_row(page, "ws:a", "pid", lambda t: t == str(new), what="the new pid on the page")
    assert wait_row(page, "ws:a", "restarts", lambda t: t == "1")
    _still_same_page(page)


def test_the_restart_button_restarts_and_a_failing_start_shows_its_error(
        daemon_factory: Factory, page_for: PageFor) -> None:
    d, _ = start_dashboard(daemon_factory, {"ws.yaml": conf({
        "a": sleeper(), "gone": {"command": ["/nonexistent/program"], "autostart": False}})})
    old = d.wait_state("ws:a", "RUNNING")["pid"]
    page = page_for(d)
    wait_row(page, "ws:a", "pid", lambda t: t == str(old))
    page.click('tr[data-id="ws:a"] button[data-action=restart]')
    new = retry_until(lambda: (lambda p: p["pid"] if p["state"] == "RUNNING" and p["pid"] != old
                               else None)(d.process("ws:a")), 15, 0.05, "restarted")
    wait_row(page, "ws:a", "pid", lambda t: t == str(new))
    page.wait_for_selector(f'.toast:has-text("restart ws:a: RUNNING (pid {new})")')
    page.focus('button[aria-label="start ws:gone"]')  # buttons work from the keyboard
    page.keyboard.press("Enter")
    toast = page.wait_for_selector('.toast.error:has-text("start ws:gone failed")', timeout=30000)
    assert "/nonexistent/program" in toast.inner_text()


def _claude(root: Path) -> Path:
    binary = root / "claude"
    binary.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{STUB}" "$@"\n')
    binary.chmod(0o755)
    return binary


@pytest.fixture
def tmux_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[DaemonProcess]]:
    """The stand-in agents run in the daemon's own tmux server, killed afterwards."""
    monkeypatch.setenv("PATH", f"{FAKES}{os.pathsep}{os.environ['PATH']}")
    for var in ("TMUX", "TMUX_PANE", "WEZTERM_PANE", "WEZTERM_UNIX_SOCKET", "DISPLAY"):
        monkeypatch.delenv(var, raising=False)
    made: list[DaemonProcess] = []
    yield made
    for d in made:
        stop_with_its_tmux(d)


def test_a_prompt_typed_in_the_page_reaches_the_agents_pane(
        daemon_factory: Factory, page_for: PageFor, tmux_env: list[DaemonProcess]) -> None:
    d = daemon_factory(extra=("--dashboard", "127.0.0.1:0"), backend="tmux")
    tmux_env.append(d)
    agent = {"claude": {"binary": str(_claude(d.root))}, "cwd": str(d.root), "start_secs": 0}
    (d.conf / "ws.yaml").write_text(conf({"agent": agent}, backend="tmux"))
    d.start()
    assert d.ctl("wait", "ws:agent", "--until", "idle", "--timeout", "60").returncode == 0
    page = page_for(d)
    page.wait_for_selector('#agents li[data-id="ws:agent"]:has-text("idle")')
    assert wait_row(page, "ws:agent", "pane", lambda t: t != "")
    page.click('tr[data-id="ws:agent"] button.id')
    page.fill('textarea[aria-label="prompt for ws:agent"]', "hello from the page")
    page.click('tr.details button[data-action=send]')
    page.wait_for_selector('.toast:has-text("sent to ws:agent (submitted)")', timeout=60000)
    retry_until(lambda: "● Done: hello from the page" in d.ctl("capture", "ws:agent").stdout,
                30, 0.1, "the prompt's turn in the pane")
    # the pane's text shows up in the page's log box too
    retry_until(lambda: "Done: hello from the page" in page.inner_text("tr.details pre.log"),
                15, 0.1, "the pane text on the page")
    assert d.ctl("stop", "ws:agent").returncode == 0  # a send that fails says why
    page.fill('textarea[aria-label="prompt for ws:agent"]', "anyone there?")
    page.click('tr.details button[data-action=send]')
    toast = page.wait_for_selector('.toast.error:has-text("send to ws:agent")', timeout=30000)
    assert "ws:agent" in toast.inner_text() and "STOPPED" in toast.inner_text().upper()


def test_a_broken_save_shows_the_config_banner_until_fixed(daemon_factory: Factory,
                                                           page_for: PageFor) -> None:
    d, _ = start_dashboard(daemon_factory, {"ws.yaml": conf({"a": sleeper()})})
    d.wait_state("ws:a", "RUNNING")
    page = page_for(d)
    assert page.is_hidden("#config-banner")
    (d.conf / "ws.yaml").write_text("workspace: ws\nprocesses:\n  a: {command: 42}\n")
    banner = page.wait_for_selector("#config-banner:visible", timeout=20000)
    assert f"{d.conf / 'ws.yaml'}:3:" in banner.inner_text() or "ws.yaml:3:" in banner.inner_text()
    (d.conf / "ws.yaml").write_text(conf({"a": sleeper()}))
    page.wait_for_selector("#config-banner", state="hidden", timeout=20000)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_page_reconnects_after_a_daemon_restart_without_a_reload(
        daemon_factory: Factory, page_for: PageFor) -> None:
    port = _free_port()
    d = daemon_factory({"ws.yaml": conf({"a": ticker()})},
                       extra=("--dashboard", f"127.0.0.1:{port}"))
    d.start()
    old = d.wait_state("ws:a", "RUNNING")["pid"]
    page = page_for(d)
    wait_row(page, "ws:a", "pid", lambda t: t == str(old))
    page.click('tr[data-id="ws:a"] button.id')
    retry_until(lambda: "tick" in page.inner_text("tr.details pre.log"), 15, 0.1, "log lines")
    _same_page(page)
    d.stop()
    page.wait_for_selector("#conn[data-state=reconnecting]", timeout=20000)
    d.start()
    page.wait_for_selector("#conn[data-state=live]", timeout=30000)
    new = d.wait_state("ws:a", "RUNNING")["pid"]
    assert new != old
    wait_row(page, "ws:a", "pid", lambda t: t == str(new))
    last = d.ctl("logs", "ws:a", "-n", "1").stdout.strip()
    retry_until(lambda: last in page.inner_text("tr.details pre.log"), 15, 0.1, "live log lines")
    _still_same_page(page)


def test_a_page_that_falls_behind_reconnects_for_a_fresh_snapshot(
        daemon_factory: Factory, page_for: PageFor) -> None:
    d, _ = start_dashboard(daemon_factory, {"ws.yaml": conf(
        {f"p{i}": sleeper() for i in range(6)})})
    old = {f"ws:p{i}": d.wait_state(f"ws:p{i}", "RUNNING")["pid"] for i in range(6)}
    page = page_for(d, query="&queue=2")  # dropped after 2 events behind
    for pid, number in old.items():
        wait_row(page, pid, "pid", lambda t, number=number: t == str(number))
    _same_page(page)
    assert d.ctl("restart", "all").returncode == 0
    retry_until(lambda: "an event subscriber fell 2 events behind" in d.daemon_log(), 10)
    for pid, number in old.items():
        new = d.process(pid)["pid"]
        assert new != number
        wait_row(page, pid, "pid", lambda t, new=new: t == str(new))
    page.wait_for_selector("#conn[data-state=live]")
    _still_same_page(page)


def test_without_the_token_the_browser_gets_401(daemon_factory: Factory, browser: Any) -> None:
    _, site = start_dashboard(daemon_factory, {"ws.yaml": conf({"a": sleeper()})})
    context = browser.new_context()
    try:
        page = context.new_page()
        response = page.goto(site.base)
        assert response.status == 401 and page.inner_text("body") == "unauthorized"
        response = page.goto(f"{site.base}?token=wrong")
        assert response.status == 401
    finally:
        context.close()


def _serve(html: bytes) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def test_a_page_from_another_origin_is_refused(daemon_factory: Factory, browser: Any) -> None:
    """Another local site (same host, other port: the same site to the cookie) holding the
    user's cookie still cannot open the WebSocket or post a command."""
    d, site = start_dashboard(daemon_factory, {"ws.yaml": conf({"a": sleeper()})})
    old = d.wait_state("ws:a", "RUNNING")["pid"]
    attack = f"""<script>
      window.result = {{}};
      const ws = new WebSocket("ws://{site.host}/ws");
      ws.onopen = () => {{ window.result.ws = "open"; }};
      ws.onclose = () => {{ window.result.ws = window.result.ws || "refused"; }};
      fetch("{site.base}api/stop", {{method: "POST", credentials: "include", mode: "no-cors",
            headers: {{"Content-Type": "text/plain"}}, body: JSON.stringify({{ids: ["ws:a"]}})}})
        .then(() => {{ window.result.post = "sent"; }}, () => {{ window.result.post = "failed"; }});
    </script>""".encode()
    server, evil = _serve(attack)
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{site.base}?token={site.token}")  # the user's own tab: the cookie is set
        assert page.wait_for_selector("#conn[data-state=live]")
        other = context.new_page()
        other.goto(evil)
        retry_until(lambda: other.evaluate("window.result.ws && window.result.post"), 15)
        assert other.evaluate("window.result.ws") == "refused"
        assert d.process("ws:a")["pid"] == old and d.process("ws:a")["state"] == "RUNNING"
        assert "POST /api/stop refused (403 forbidden origin)" in d.daemon_log()
        assert "GET /ws refused (403 forbidden origin)" in d.daemon_log()
    finally:
        context.close()
        server.shutdown()
        server.server_close()


def test_the_status_the_page_gets_is_the_socket_status(daemon_factory: Factory) -> None:
    """One place per verb: /api/status answers exactly what `wezparctl status --json` does
    (volatile fields aside)."""
    d, site = start_dashboard(daemon_factory, {"ws.yaml": conf({"a": sleeper()})})
    d.wait_state("ws:a", "RUNNING")
    _, _, body = site.request("POST", "/api/status", {"Authorization": f"Bearer {site.token}"},
                              body={})
    volatile = {"uptime", "since", "cpu_percent", "rss"}

    def stable(status: dict[str, Any]) -> list[dict[str, Any]]:
        return [{k: v for k, v in p.items() if k not in volatile} for p in status["processes"]]

    assert stable(json.loads(body)["result"]) == stable(d.status())
