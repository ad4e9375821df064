"""Panes survive the daemon: a real daemon is SIGKILLed and started again, and takes back the
programs still running in its panes (same panes, same pids, no second copy), then supervises
them as its own. Once on `--backend tmux`, once on WezTerm through the `wezterm` stand-in
(tests/fakes/wezterm, its panes on a private tmux server)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.support import DaemonProcess, pid_alive, retry_until
from tests.wezgui import start_gui

FAKES = Path(__file__).parent.parent / "fakes"
PROGRAM = ("import sys\nprint('ready', flush=True)\n"
           "for line in sys.stdin:\n    print('got:' + line.strip()[::-1], flush=True)\n")
NAMES = ("a", "b", "c")


def _workspace(backend: str) -> str:
    spec = {"command": [sys.executable, "-u", "-c", PROGRAM], "start_secs": 0}
    procs = "".join(f"  {n}: {json.dumps(spec)}\n" for n in NAMES)
    return f"workspace: ws\nbackend: {backend}\nlayout: columns\nprocesses:\n{procs}"


def _processes_under(root: Path) -> list[int]:
    needle = str(root).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if needle in (entry / "cmdline").read_bytes() \
                        and ") Z" not in (entry / "stat").read_text():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


class Adoption:
    """One daemon of the test and the tmux server its panes live on; `close` stops the daemon,
    ends that server and waits until nothing started under the daemon's directory is left."""

    def __init__(self, factory: Callable[..., DaemonProcess], backend: str) -> None:
        self.daemon = factory({"ws.yaml": _workspace(backend)}, backend=backend)
        self.sockets = [self.daemon.state / "tmux.sock", self.daemon.root / "wez.sock"]

    @property
    def root(self) -> Path:
        return self.daemon.root

    def tmux_socket(self) -> Path:
        return next(s for s in self.sockets if s.exists())

    def panes(self) -> list[tuple[str, str]]:
        """(pane id, pane pid) of every pane on the server, dead ones included."""
        out = subprocess.run(["tmux", "-S", str(self.tmux_socket()), "list-panes", "-a", "-F",
                              "#{pane_id} #{pane_pid}"],
                             capture_output=True, text=True, check=True, timeout=30).stdout
        return [(line.split()[0], line.split()[1]) for line in out.splitlines()]

    def close(self) -> None:
        self.daemon.stop()
        for sock in self.sockets:
            subprocess.run(["tmux", "-S", str(sock), "kill-server"], capture_output=True,
                           timeout=30)
        retry_until(lambda: not _processes_under(self.root), 15, 0.05,
                    f"processes under {self.root} to end")


@pytest.fixture
def adoption(daemon_factory: Callable[..., DaemonProcess]
             ) -> Iterator[Callable[[str], Adoption]]:
    made: list[Adoption] = []

    def make(backend: str) -> Adoption:
        made.append(Adoption(daemon_factory, backend))
        return made[-1]

    yield make
    for a in made:
        a.close()


def _all_running(d: DaemonProcess) -> dict[str, dict[str, Any]] | None:
    procs = {p["name"]: p for p in d.status()["processes"]}
    return procs if len(procs) == len(NAMES) and all(
        p["state"] == "RUNNING" and p["pane"] for p in procs.values()) else None


def _program_pid(d: DaemonProcess, name: str, wrapper: int) -> int:
    """The program's own pid, from the pane wrapper's record (the status `pid` is the
    wrapper's), checked against the process table."""
    record = json.loads((d.state / "panes" / "ws" / f"{name}.json").read_text())
    assert record["wrapper"] == wrapper and not record["exited"]
    assert record["pid"] in [c.pid for c in psutil.Process(wrapper).children()]
    return int(record["pid"])


def _capture(d: DaemonProcess, pid: str) -> str:
    out = d.ctl("capture", pid, "-n", "30")
    return out.stdout if out.returncode == 0 else ""


def _wait_ready(d: DaemonProcess, name: str) -> None:
    retry_until(lambda: "ready" in _capture(d, f"ws:{name}"), 15, 0.05, f"{name} ready")


def _kill_the_daemon_and_start_again(a: Adoption) -> dict[str, dict[str, Any]]:
    d = a.daemon
    d.start()
    before = retry_until(lambda: _all_running(d), 30, 0.1, "every process RUNNING")
    for name in NAMES:
        _wait_ready(d, name)
    programs = {n: _program_pid(d, n, p["pid"]) for n, p in before.items()}
    panes_before = sorted(a.panes())
    assert len(panes_before) == len(NAMES)

    d.kill()  # SIGKILL: no chance to stop anything or save state on the way out
    assert all(pid_alive(pid) for pid in programs.values())
    d.start()
    after = retry_until(lambda: _all_running(d), 30, 0.1, "every process RUNNING again")
    for name in NAMES:
        assert (after[name]["pane"], after[name]["pid"]) == \
            (before[name]["pane"], before[name]["pid"]), name
        assert after[name]["restarts"] == 0 and after[name]["backend"] == d.backend
        assert _program_pid(d, name, after[name]["pid"]) == programs[name]
    assert sorted(a.panes()) == panes_before  # nothing spawned twice
    assert "adopted pid" in d.daemon_log()
    # the adopted programs are the daemon's again: it talks to them through their panes
    assert d.ctl("send", "ws:a", "adopted").returncode == 0
    retry_until(lambda: "got:detpoda" in _capture(d, "ws:a"), 10, 0.05, "an adopted answer")
    return after


def _kill_program(d: DaemonProcess, name: str, wrapper: int) -> dict[str, Any]:
    os.kill(_program_pid(d, name, wrapper), signal.SIGKILL)

    def restarted() -> dict[str, Any] | None:
        p = d.process(f"ws:{name}")
        return p if p["restarts"] == 1 and p["state"] == "RUNNING" else None
    p = retry_until(restarted, 30, 0.1, f"ws:{name} restarted")
    assert p["exit_signal"] == signal.SIGKILL and p["exit_code"] is None
    assert p["exit"] == "killed by SIGKILL"
    assert p["pid"] != wrapper
    return p


Adopt = Callable[[str], Adoption]


def test_tmux_panes_are_adopted_after_the_daemon_is_killed(adoption: Adopt) -> None:
    a = adoption("tmux")
    after = _kill_the_daemon_and_start_again(a)
    b = after["b"]
    restarted = _kill_program(a.daemon, "b", b["pid"])
    assert restarted["pane"] == b["pane"]  # respawned in the very pane it had
    panes = a.panes()
    assert len(panes) == len(NAMES) and b["pane"] in [p for p, _ in panes]
    _wait_ready(a.daemon, "b")
    others = {n: p for n, p in _all_running(a.daemon).items() if n != "b"}  # type: ignore[union-attr]
    assert {n: (p["pid"], p["restarts"]) for n, p in others.items()} == \
        {n: (after[n]["pid"], 0) for n in others}


@pytest.fixture
def wezterm_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The stand-in first on PATH as `wezterm`; the daemon inherits this environment. The
    GUI's runtime dir and mux socket go in the daemon's directory, known only once the daemon
    is made, so the test starts the GUI itself."""
    monkeypatch.setenv("PATH", f"{FAKES}{os.pathsep}{os.environ['PATH']}")
    for var in ("WEZTERM_PANE", "WEZTERM_UNIX_SOCKET", "FAKE_WEZTERM_EXIT_BEHAVIOR",
                "FAKE_WEZTERM_LOG", "TMUX", "TMUX_PANE", "DISPLAY"):
        monkeypatch.delenv(var, raising=False)
    yield


def test_wezterm_panes_are_adopted_after_the_daemon_is_killed(
        adoption: Adopt, wezterm_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    a = adoption("wezterm")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(a.root / "run"))
    start_gui(a.root / "run", a.root / "wez.sock")
    after = _kill_the_daemon_and_start_again(a)
    b = after["b"]
    restarted = _kill_program(a.daemon, "b", b["pid"])
    # WezTerm closes a pane when its program ends (exit_behavior "Close") and `wezterm cli`
    # cannot respawn one: the restart gets a new pane in the same window, the old one is gone
    panes = [p.lstrip("%") for p, _ in a.panes()]
    assert restarted["pane"] in panes and b["pane"] not in panes
    assert len(panes) == len(NAMES)
    _wait_ready(a.daemon, "b")


def test_a_program_that_died_with_the_daemon_down_restarts_in_its_own_pane(
        adoption: Adopt) -> None:
    a = adoption("tmux")
    d = a.daemon
    d.start()
    before = retry_until(lambda: _all_running(d), 30, 0.1, "every process RUNNING")
    c = before["c"]
    program = _program_pid(d, "c", c["pid"])
    d.kill()
    os.kill(program, signal.SIGKILL)
    retry_until(lambda: not pid_alive(c["pid"]), 10, 0.05, "c's wrapper to end")
    d.start()

    def back() -> dict[str, dict[str, Any]] | None:
        procs = _all_running(d)
        return procs if procs and procs["c"]["pid"] != c["pid"] else None
    after = retry_until(back, 30, 0.1, "c running again")
    assert after["c"]["pane"] == c["pane"]  # its dead pane, kept by remain-on-exit, reused
    assert {n: after[n]["pid"] for n in ("a", "b")} == {n: before[n]["pid"] for n in ("a", "b")}
    assert len(a.panes()) == len(NAMES)
    _wait_ready(d, "c")
