"""send, capture, attach and layout end to end: a real daemon on `--backend tmux`, driven by the
real `wezparctl`, its panes on the daemon's own tmux server (`STATE/tmux.sock`)."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import DaemonProcess, retry_until, script

# Reads lines and answers each reversed: "got:olleh" can only come from the program having
# read "hello" and Enter, never from the terminal echoing what was typed.
ECHO = ("import sys\nprint('ready', flush=True)\n"
        "for line in sys.stdin:\n    print('got:' + line.strip()[::-1], flush=True)\n")
HEADLESS = "import time\nprint('headless-marker', flush=True)\ntime.sleep(600)\n"
CLEAN_ENV = {k: v for k, v in os.environ.items()
             if k not in ("TMUX", "TMUX_PANE", "WEZTERM_PANE", "WEZTERM_UNIX_SOCKET")}


def _workspace(name: str, backend: str, layout: str, procs: dict[str, str]) -> str:
    lines = [f"workspace: {name}", f"backend: {backend}", f"layout: {layout}", "processes:"]
    for pname, code in procs.items():
        spec = {"command": [sys.executable, "-u", "-c", code], "start_secs": 0}
        lines.append(f"  {pname}: {json.dumps(spec)}")  # JSON is YAML flow style
    return "\n".join(lines) + "\n"


WEB = _workspace("web", "tmux", "columns", {"a": ECHO, "b": ECHO, "c": ECHO})
OTHER = _workspace("other", "tmux", "tiled", {"x": ECHO})
HL = _workspace("hl", "subprocess", "tiled", {"h": HEADLESS})


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


class PaneDaemons:
    """Starts tmux daemons whose processes are all RUNNING and printed `ready`; `close` ends
    them, their tmux servers (and any other server a test registered in `extra_sockets`) and
    waits until no process under their directories is left."""

    def __init__(self, factory: Callable[..., DaemonProcess]) -> None:
        self._factory = factory
        self.made: list[DaemonProcess] = []
        self.extra_sockets: list[Path] = []

    def __call__(self, conf: dict[str, str]) -> DaemonProcess:
        d = self._factory(conf, backend="tmux")
        self.made.append(d)
        d.start()
        for p in retry_until(lambda: _all_running(d), 20, 0.1, "every process RUNNING"):
            if p["backend"] == "tmux":
                retry_until(lambda p=p: "ready" in _capture(d, str(p["id"])), 15, 0.05,
                            f"{p['id']} to print ready")
        return d

    def close(self) -> None:
        for d in self.made:
            d.stop()
            for sock in [d.state / "tmux.sock", *self.extra_sockets]:
                subprocess.run(["tmux", "-S", str(sock), "kill-server"], capture_output=True,
                               timeout=30)
            retry_until(lambda d=d: not _processes_under(d.root), 15, 0.05,
                        f"processes under {d.root} to end")


@pytest.fixture
def pane_daemon(daemon_factory: Callable[..., DaemonProcess]) -> Iterator[PaneDaemons]:
    daemons = PaneDaemons(daemon_factory)
    try:
        yield daemons
    finally:
        daemons.close()


def _all_running(d: DaemonProcess) -> list[dict[str, object]] | None:
    procs = d.status()["processes"]
    return procs if procs and all(p["state"] == "RUNNING" for p in procs) else None


def _ctl(d: DaemonProcess, *args: str, env: dict[str, str] | None = None
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([script("wezparctl"), *d.args(), *args], capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL,
                          env=env or CLEAN_ENV)


def _capture(d: DaemonProcess, pid: str, lines: int = 50) -> str:
    out = _ctl(d, "capture", pid, "-n", str(lines))
    assert out.returncode == 0, out.stderr
    return out.stdout


def _tmux(d: DaemonProcess, *args: str) -> str:
    return subprocess.run(["tmux", "-S", str(d.state / "tmux.sock"), *args],
                          capture_output=True, text=True, check=True, timeout=30).stdout


def _geometry(d: DaemonProcess, workspace: str) -> list[tuple[int, int, int, int]]:
    """(left, top, width, height) of each pane of the workspace's session."""
    out = _tmux(d, "list-panes", "-s", "-t", f"=wezparallel-{workspace}", "-F",
                "#{pane_left} #{pane_top} #{pane_width} #{pane_height}")
    return sorted(tuple(int(v) for v in line.split()) for line in out.splitlines())  # type: ignore[misc]


def test_send_then_capture_round_trip(pane_daemon):
    d = pane_daemon({"web.yaml": WEB})
    sent = _ctl(d, "send", "web:a", "hello")
    assert sent.returncode == 0, sent.stderr
    assert "sent to web:a" in sent.stdout
    retry_until(lambda: "got:olleh" in _capture(d, "web:a"), 10, 0.05, "the answer to hello")
    assert "got:" not in _capture(d, "web:b")  # only the named pane got it
    # --no-enter types without submitting; a later Enter submits what was typed
    assert _ctl(d, "send", "--no-enter", "web:b", "abc").returncode == 0
    retry_until(lambda: "abc" in _capture(d, "web:b"), 10, 0.05, "abc typed")
    assert "got:cba" not in _capture(d, "web:b")
    assert _ctl(d, "send", "web:b", "").returncode == 0
    retry_until(lambda: "got:cba" in _capture(d, "web:b"), 10, 0.05, "abc submitted")
    # -n limits the lines: the last one is the newest answer
    assert _capture(d, "web:a", 1).strip() == "got:olleh"
    # TEXT `-` reads standard input
    piped = subprocess.run([script("wezparctl"), *d.args(), "send", "web:c", "-"],
                           input="from stdin\n", capture_output=True, text=True, timeout=60,
                           env=CLEAN_ENV)
    assert piped.returncode == 0, piped.stderr
    retry_until(lambda: "got:nidts morf" in _capture(d, "web:c"), 10, 0.05, "piped text")
    out = _ctl(d, "capture", "web:a", "--json")
    assert json.loads(out.stdout)["source"] == "pane"


def test_broadcast_reaches_every_pane_of_a_workspace(pane_daemon):
    """None of these processes is an agent: a broadcast reaches them with --all-panes."""
    d = pane_daemon({"web.yaml": WEB, "other.yaml": OTHER, "hl.yaml": HL})
    out = _ctl(d, "send", "--workspace", "web", "--all-panes", "ping")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "sent to web:a, web:b, web:c"
    for pid in ("web:a", "web:b", "web:c"):
        retry_until(lambda pid=pid: "got:gnip" in _capture(d, pid), 10, 0.05, f"{pid} pinged")
    assert "got:" not in _capture(d, "other:x")
    # --all reaches every pane and says which processes have none
    out = _ctl(d, "send", "--all", "--all-panes", "--json", "pong")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["sent"] == ["other:x", "web:a", "web:b", "web:c"]
    assert [s["id"] for s in result["skipped"]] == ["hl:h"]
    assert "runs headless (backend subprocess)" in result["skipped"][0]["reason"]
    for pid in ("other:x", "web:a", "web:b", "web:c"):
        retry_until(lambda pid=pid: "got:gnop" in _capture(d, pid), 10, 0.05, f"{pid} ponged")
    bad = _ctl(d, "send", "--workspace", "nope", "--all-panes", "x")
    assert bad.returncode == 1 and "no workspace 'nope'" in bad.stderr
    usage = _ctl(d, "send", "--all", "web:a", "x")
    assert usage.returncode == 2


def test_headless_process_errors_and_capture_falls_back_to_log(pane_daemon):
    d = pane_daemon({"hl.yaml": HL})
    for verb in ("send", "attach"):
        args = ("send", "hl:h", "x") if verb == "send" else ("attach", "--print", "hl:h")
        out = _ctl(d, *args)
        assert out.returncode == 1
        assert out.stderr.strip() == (
            f"wezparctl: hl:h runs headless (backend subprocess); {verb} needs a pane "
            "backend: set `backend: tmux`")
    text = retry_until(lambda: _ctl(d, "capture", "hl:h", "--json").stdout, 10, 0.05)
    assert json.loads(text)["source"] == "log"
    retry_until(lambda: "headless-marker" in _capture(d, "hl:h"), 10, 0.05, "log tail")
    out = _ctl(d, "layout", "hl", "rows")
    assert out.returncode == 1 and "runs headless" in out.stderr


def test_layout_rearranges_a_running_workspace(pane_daemon):
    d = pane_daemon({"web.yaml": WEB})
    before = _geometry(d, "web")
    assert len(before) == 3
    assert {top for _, top, _, _ in before} == {0}  # columns: side by side
    assert len({left for left, _, _, _ in before}) == 3
    panes = {p["id"]: p["pane"] for p in d.status()["processes"]}
    out = _ctl(d, "layout", "web", "rows")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "web: rows"
    after = _geometry(d, "web")
    assert {left for left, _, _, _ in after} == {0}  # rows: stacked, full width
    assert len({top for _, top, _, _ in after}) == 3
    assert {p["id"]: p["pane"] for p in d.status()["processes"]} == panes  # nothing respawned
    assert _ctl(d, "layout", "web", "diagonal").returncode == 2
    missing = _ctl(d, "layout", "nope", "rows")
    assert missing.returncode == 1 and "no workspace 'nope'" in missing.stderr


def test_attach_prints_the_tmux_command(pane_daemon):
    d = pane_daemon({"web.yaml": WEB})
    pane = d.process("web:b")["pane"]
    sock = str(d.state / "tmux.sock")
    select = ["select-window", "-t", pane, ";", "select-pane", "-t", pane, ";"]
    out = _ctl(d, "attach", "--print", "web:b")
    assert out.returncode == 0, out.stderr
    assert shlex.split(out.stdout) == ["env", "-u", "TMUX", "tmux", "-S", sock, *select,
                                       "attach-session", "-t", "=wezparallel-web"]
    # a client of the daemon's own server switches instead of nesting
    inside = CLEAN_ENV | {"TMUX": f"{sock},123,0"}
    out = _ctl(d, "attach", "--print", "web:b", env=inside)
    assert shlex.split(out.stdout) == ["tmux", "-S", sock, *select, "switch-client", "-t",
                                       pane]


def test_attach_makes_the_terminal_a_client_of_the_pane(pane_daemon):
    """Without --print, wezparctl execs tmux: the terminal it runs in (here a pane of another
    tmux server) shows the process's pane."""
    d = pane_daemon({"web.yaml": WEB})
    assert _ctl(d, "send", "web:c", "attached").returncode == 0
    retry_until(lambda: "got:dehcatta" in _capture(d, "web:c"), 10, 0.05, "marker")
    outer = d.root / "outer.sock"
    pane_daemon.extra_sockets.append(outer)
    subprocess.run(["tmux", "-S", str(outer), "new-session", "-d", "-x", "120", "-y", "40",
                    "env", "-u", "TMUX", script("wezparctl"), *d.args(), "attach", "web:c"],
                   check=True, timeout=30, env=CLEAN_ENV)

    def screen() -> str:
        return subprocess.run(["tmux", "-S", str(outer), "capture-pane", "-p"],
                              capture_output=True, text=True, timeout=30).stdout
    retry_until(lambda: "got:dehcatta" in screen(), 15, 0.1, "the pane shown by attach")
    clients = _tmux(d, "list-clients", "-F", "#{client_session}")
    assert clients.split() == ["wezparallel-web"]


def test_killed_process_restarts_in_the_same_pane(pane_daemon):
    d = pane_daemon({"web.yaml": WEB})
    before = d.process("web:a")
    status_file = d.state / "panes" / "web" / "a.json"
    child = json.loads(status_file.read_text())["pid"]
    os.kill(child, signal.SIGKILL)

    def restarted() -> dict[str, object] | None:
        p = d.process("web:a")
        return p if p["restarts"] == 1 and p["state"] == "RUNNING" else None
    after = retry_until(restarted, 20, 0.1, "web:a restarted")
    assert after["pane"] == before["pane"]
    assert after["pid"] != before["pid"]
    assert after["exit_signal"] == 9 and after["exit_code"] is None
    panes = _tmux(d, "list-panes", "-s", "-t", "=wezparallel-web", "-F", "#{pane_id}")
    assert before["pane"] in panes.split() and len(panes.split()) == 3
    # the new program reads what is typed into the same pane (typed before it reads, the
    # text waits in the terminal)
    assert _ctl(d, "send", "web:a", "again").returncode == 0
    retry_until(lambda: "got:niaga" in _capture(d, "web:a"), 10, 0.05, "answer after restart")
