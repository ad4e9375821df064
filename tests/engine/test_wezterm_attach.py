"""`wezparctl attach` of a pane in a WezTerm workspace the GUI does not show, end to end: a real
daemon on the `wezterm` stand-in, a fake GUI showing workspace "default", and `wezparctl`
running on a pseudo-terminal as it would in the user's pane.

`activate-pane` does not switch workspaces (sessionhandler.rs `SetFocusedPane`), so attach asks
the Lua module through the `wezparallel_attach` user variable; here the test plays the Lua
module's part (lua/spec/events_spec.lua checks the module's own) by switching the GUI when the
request arrives, or not at all.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import DaemonProcess, retry_until, script
from tests.wezgui import FakeGui, start_gui

FAKES = Path(__file__).parent.parent / "fakes"
REQUEST = re.compile(rb"\x1b\]1337;SetUserVar=wezparallel_attach=([A-Za-z0-9+/=]*)\x07")
WORKSPACE = "workspace: ws\nbackend: wezterm\nprocesses:\n  a: {command: [sleep, '300']}\n"


@pytest.fixture
def setup(daemon_factory: Callable[..., DaemonProcess],
          monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[DaemonProcess, FakeGui]]:
    monkeypatch.setenv("PATH", f"{FAKES}{os.pathsep}{os.environ['PATH']}")
    for var in ("WEZTERM_PANE", "WEZTERM_UNIX_SOCKET", "DISPLAY", "FAKE_WEZTERM_LOG",
                "FAKE_WEZTERM_EXIT_BEHAVIOR", "TMUX", "TMUX_PANE"):
        monkeypatch.delenv(var, raising=False)
    d = daemon_factory({"ws.yaml": WORKSPACE}, backend="wezterm")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(d.root / "xdg"))
    gui = start_gui(d.root / "xdg", d.root / "wez.sock")
    try:
        d.start()
        d.wait_state("ws:a", "RUNNING")
        yield d, gui
    finally:
        d.stop()
        subprocess.run(["tmux", "-S", str(gui.mux), "kill-server"], capture_output=True,
                       timeout=30)


def attach_in_pty(d: DaemonProcess, env: dict[str, str],
                  on_request: Callable[[dict[str, str]], None]) -> tuple[int, bytes]:
    """Runs `wezparctl attach ws:a` on a pty; calls `on_request` with each switch request."""
    master, slave = os.openpty()
    proc = subprocess.Popen([script("wezparctl"), "--socket", str(d.socket), "attach", "ws:a"],
                            stdin=slave, stdout=slave, stderr=slave, env=env,
                            start_new_session=True)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
        for m in REQUEST.finditer(chunk):
            on_request(json.loads(base64.b64decode(m[1])))
    os.close(master)
    return proc.wait(timeout=60), out


def in_wezterm(**extra: str) -> dict[str, str]:
    return {**os.environ, "WEZTERM_PANE": "99", **extra}


def test_attach_asks_the_lua_module_to_switch_and_sees_it_done(
        setup: tuple[DaemonProcess, FakeGui]) -> None:
    d, gui = setup
    asked: list[dict[str, str]] = []

    def lua_module(request: dict[str, str]) -> None:
        asked.append(request)
        gui.switch_workspace(request["workspace"])

    code, out = attach_in_pty(d, in_wezterm(), lua_module)
    assert code == 0, out
    assert asked == [{"pane": d.process("ws:a")["pane"], "workspace": "ws"}]
    assert b"activated the pane of ws:a" in out


def test_attach_without_the_lua_module_says_nothing_switched(
        setup: tuple[DaemonProcess, FakeGui]) -> None:
    d, _ = setup
    asked: list[dict[str, str]] = []
    code, out = attach_in_pty(d, in_wezterm(), asked.append)
    assert code == 1 and len(asked) == 1
    assert (b"wezparctl: the pane of ws:a is active in WezTerm workspace 'ws', which WezTerm "
            b"does not show, and nothing switched to it within 2s: load the wezparallel Lua "
            b"module") in out.replace(b"\r\n", b" ").replace(b"\n", b" ")


def test_attach_outside_wezterm_explains_and_writes_no_request(
        setup: tuple[DaemonProcess, FakeGui]) -> None:
    d, _ = setup
    asked: list[dict[str, str]] = []
    code, out = attach_in_pty(d, dict(os.environ), asked.append)
    assert code == 1 and asked == []
    assert b"run attach in a WezTerm pane with the wezparallel Lua module loaded" in \
        out.replace(b"\r\n", b" ").replace(b"\n", b" ")


def test_attach_of_a_shown_workspace_asks_nothing(setup: tuple[DaemonProcess, FakeGui]) -> None:
    d, gui = setup
    gui.switch_workspace("ws")
    asked: list[dict[str, str]] = []
    code, out = attach_in_pty(d, in_wezterm(), asked.append)
    assert code == 0 and asked == [] and b"activated the pane of ws:a" in out


def test_a_daemon_without_a_running_wezterm_says_so_and_starts_no_mux_server(
        daemon_factory: Callable[..., DaemonProcess], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", f"{FAKES}{os.pathsep}{os.environ['PATH']}")
    for var in ("WEZTERM_PANE", "WEZTERM_UNIX_SOCKET", "DISPLAY", "TMUX", "TMUX_PANE"):
        monkeypatch.delenv(var, raising=False)
    d = daemon_factory({"ws.yaml": WORKSPACE}, backend="wezterm")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(d.root / "xdg"))
    d.start()

    def failed() -> dict[str, object] | None:
        p = d.process("ws:a")
        return p if p["error"] else None

    p = retry_until(failed, 15, 0.05, "ws:a's failed start")
    assert str(p["error"]).startswith("WezTerm is not running: no live gui-sock-* in "
                                      f"{d.root}/xdg/wezterm")
    assert p["state"] in ("BACKOFF", "STARTING")
    assert not (d.root / "xdg" / "wezterm" / "sock").exists()
