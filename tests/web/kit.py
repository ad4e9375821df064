"""Shared by the dashboard tests: a real daemon with its dashboard on a free port, plain HTTP
requests that show exactly what the server answers, and Debian's chromium under Playwright."""

from __future__ import annotations

import asyncio
import http.client
import json
import subprocess
import sys
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pytest

from tests.support import DaemonProcess, retry_until

T = TypeVar("T")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DASHBOARD = ("--dashboard", "127.0.0.1:0")
STUB = Path(__file__).resolve().parents[1] / "fakes" / "claude_stub.py"


def conf(procs: dict[str, dict[str, object]], backend: str = "subprocess",
         workspace: str = "ws") -> str:
    lines = [f"workspace: {workspace}", f"backend: {backend}", "processes:"]
    lines += [f"  {name}: {json.dumps(spec)}" for name, spec in procs.items()]
    return "\n".join(lines) + "\n"


def sleeper(seconds: int = 1000) -> dict[str, object]:
    return {"command": [sys.executable, "-c", f"import time; time.sleep({seconds})"],
            "start_secs": 0}


def ticker() -> dict[str, object]:
    code = "import time\ni = 0\nwhile True:\n    print(f'tick {i}', flush=True)\n" \
           "    i += 1\n    time.sleep(0.2)\n"
    return {"command": [sys.executable, "-u", "-c", code], "start_secs": 0}


def dashboard_url(d: DaemonProcess) -> str:
    """The URL with the token, as `wezparctl dashboard --json` prints it."""
    out = d.ctl("dashboard", "--json")
    assert out.returncode == 0, out.stderr
    url = json.loads(out.stdout)["url"]
    assert isinstance(url, str)
    return url


@dataclass(frozen=True)
class Site:
    base: str  # http://127.0.0.1:PORT/
    token: str
    host: str  # 127.0.0.1:PORT

    @classmethod
    def of(cls, d: DaemonProcess) -> Site:
        url = dashboard_url(d)
        base, _, token = url.partition("?token=")
        return cls(base, token, urlsplit(base).netloc)

    def cookie(self) -> str:
        return f"wezparallel_dashboard_{self.host.rpartition(':')[2]}={self.token}"

    def request(self, method: str, path: str, headers: dict[str, str] | None = None,
                body: Any = None) -> tuple[int, dict[str, str], bytes]:
        """One raw request; headers are sent as given (Host included when named)."""
        host, _, port = self.host.rpartition(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        data = json.dumps(body).encode() if body is not None else None
        hdrs = {"Host": self.host, **(headers or {})}
        if data is not None:
            hdrs["Content-Type"] = "application/json"
            hdrs["Content-Length"] = str(len(data))
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for name, value in hdrs.items():
                conn.putheader(name, value)
            conn.endheaders(data)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()


def start_dashboard(factory: Callable[..., DaemonProcess], files: dict[str, str],
                    **kwargs: Any) -> tuple[DaemonProcess, Site]:
    d = factory(files, extra=DASHBOARD, **kwargs)
    d.start()
    return d, Site.of(d)


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """asyncio.run in a thread of its own: Playwright's sync API keeps a loop running in the
    main thread for the session, where asyncio.run refuses to start another."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def worktree_agent(d: DaemonProcess, repo: Path) -> dict[str, object]:
    """A Claude stand-in agent in a worktree of `repo`, with a config dir of its own."""
    binary = d.root / "claude"
    binary.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{STUB}" "$@"\n')
    binary.chmod(0o755)
    return {"claude": {"binary": str(binary)}, "cwd": str(repo), "start_secs": 0,
            "worktree": True, "env": {"CLAUDE_CONFIG_DIR": str(d.root / "claude-config")}}


def stop_with_its_tmux(d: DaemonProcess) -> None:
    """Stop the daemon, then the tmux server it ran its panes in (it outlives the daemon)."""
    d.stop()
    subprocess.run(["tmux", "-S", str(d.state / "tmux.sock"), "kill-server"],
                   capture_output=True, timeout=30)


# --- the browser ---------------------------------------------------------------------------

def shoot(d: DaemonProcess, out: Path, height: int, act: Callable[[Any], None]) -> None:
    """For the docs' pictures: the dashboard in a 1360 px wide page, live, `act(page)`, then a
    full-page screenshot to `out`."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = chromium.new_page(viewport={"width": 1360, "height": height})
        page.goto(dashboard_url(d))
        page.wait_for_selector("#conn[data-state=live]")
        act(page)
        page.screenshot(path=str(out), full_page=True)
        chromium.close()



@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One chromium per test module: Playwright's sync API runs an event loop in the main
    thread while it is open, which no other module's tests should find there."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page_for(browser: Any) -> Iterator[Callable[[DaemonProcess], Any]]:
    """A fresh browser context (no cookies) on a daemon's dashboard, opened with its token;
    page errors fail the test."""
    contexts: list[Any] = []
    errors: list[str] = []

    def open_page(d: DaemonProcess, width: int = 1400, height: int = 900,
                  query: str = "") -> Any:
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(dashboard_url(d) + query)
        page.wait_for_selector("#conn[data-state=live]")
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert not errors, errors


def row_text(page: Any, pid: str, cell: str) -> str:
    return str(page.inner_text(f'tr[data-id="{pid}"] td.{cell}')).strip()


def wait_row(page: Any, pid: str, cell: str, check: Callable[[str], bool],
             timeout: float = 15.0, what: str = "") -> str:
    """Poll a cell of the page (never reloading it) until `check` holds."""
    return retry_until(lambda: (lambda t: t if check(t) else None)(row_text(page, pid, cell)),
                       timeout, 0.05, what or f"{pid} {cell}")


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]
