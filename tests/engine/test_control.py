"""The control surface: the socket protocol, the CLI's exit codes, the daemon's guard rails."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from pathlib import Path

from tests.support import DaemonProcess, retry_until, script

CONF = {"a.yaml": "workspace: a\nprocesses:\n  s: {command: sleep 600, start_secs: 0}\n"}


def _raw(sock_path, payload: bytes) -> list:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(str(sock_path))
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return [json.loads(line) for line in data.splitlines()]


def test_status_json_shape(daemon_factory):
    d = daemon_factory(CONF).start()
    d.wait_state("a:s", "RUNNING")
    status = d.status()
    (p,) = status["processes"]
    for key in ("id", "workspace", "name", "state", "pid", "restarts", "exit_code", "since",
                "backend", "pane", "error"):
        assert key in p
    assert p["backend"] == "subprocess" and p["workspace"] == "a" and p["name"] == "s"
    assert status["config"]["errors"] == [] and status["config"]["loaded_at"] > 0


def test_malformed_frames_and_many_clients(daemon_factory):
    d = daemon_factory(CONF).start()
    replies = _raw(d.socket, b'{"id": 1, "method": "ping"}\nnot json\n'
                   b'{"id": 2, "method": "nope"}\n{"id": 3, "method": "status"}\n')
    assert replies[0]["ok"] is True
    assert replies[1]["ok"] is False and replies[1]["error"]["code"] == "bad_request"
    assert replies[2]["error"]["code"] == "unknown_method"
    assert replies[3]["ok"] is True and replies[3]["result"]["processes"]
    big = b'{"id": 9, "method": "ping", "params": {"x": "' + b"x" * (1 << 21) + b'"}}\n'
    (too_big,) = _raw(d.socket, big)[:1]
    assert too_big["ok"] is False and too_big["error"]["code"] == "frame_too_large"
    results: list[int] = []

    def client() -> None:
        for _ in range(5):
            results.append(d.ctl("status", "--json").returncode)

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [0] * 40


def test_legacy_messages(daemon_factory):
    d = daemon_factory(CONF).start()
    assert _raw(d.socket, b'"Ping"\n{"Ping":{}}\n{"Ping":null}\n') == ["Pong"] * 3
    (templates,) = _raw(d.socket, b'"TemplateList"\n')
    names = {t["name"] for t in templates["templates"]}
    assert {"basic", "web_dev", "parallel_dev", "research"} <= names
    (created,) = _raw(d.socket, b'{"WorkspaceCreate":{"name":"test","template":"basic"}}\n')
    assert (d.conf / "test.yaml").is_file()
    assert created["processes"] and all(p["workspace"] == "test" for p in created["processes"])
    (task,) = _raw(d.socket, b'{"TaskQueue":{"id":"task-001","priority":5,'
                             b'"command":"build project"}}\n')
    listed = json.loads(d.ctl("task", "list", "--json").stdout)
    assert [(t["id"], t["title"], t["priority"], t["status"], t["workspace"]) for t in listed] \
        == [(task["id"], "build project", 5, "todo", None)]  # two workspaces: not placed


def test_second_daemon_is_refused_and_stale_socket_replaced(daemon_factory):
    d = daemon_factory(CONF).start()
    second = subprocess.run([script("wezparallel"), *d.args(), "--backend", "subprocess"],
                            capture_output=True, text=True, timeout=30)
    assert second.returncode == 1
    assert "already" in second.stderr
    d.kill()  # SIGKILL: the socket file stays behind
    assert d.socket.exists()
    d.start()  # replaces the stale socket
    assert d.ctl("ping").returncode == 0


def test_unreachable_daemon_exits_3_with_hint(tmp_path):
    d = DaemonProcess(CONF)
    try:
        out = d.ctl("status")
        assert out.returncode == 3
        assert "wezparallel" in out.stderr and "start" in out.stderr
    finally:
        d.cleanup()


def test_client_does_not_import_heavy_modules(tmp_path):
    code = ("import sys; sys.argv=['wezparctl','--socket','/nonexistent/x.sock','status'];\n"
            "from wezparallel.cli.ctl import main\n"
            "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
            "heavy = [m for m in ('jsonschema', 'watchdog', 'psutil', 'yaml')"
            " if m in sys.modules]\n"
            "print(code, heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=30)
    assert out.stdout.strip() == "3 []", out.stdout + out.stderr


def test_fresh_headless_daemon_loads_no_psutil_and_leaves_history_to_the_first_pass(
        daemon_factory):
    """What a start needs, and no more: psutil serves pane backends and prompts, the metrics
    database waits for the sampler's first pass (an hour away here)."""
    d = daemon_factory(CONF, extra=("--metrics-interval", "3600")).start()
    d.wait_state("a:s", "RUNNING")
    maps = Path(f"/proc/{d.proc.pid}/maps").read_text()
    assert "_psutil_linux" not in maps
    assert not (d.state / "metrics.sqlite").exists()
    assert d.ctl("metrics", "a:s", "--json").returncode == 0  # the first look opens it
    assert (d.state / "metrics.sqlite").exists()


def test_metrics_through_the_daemon(daemon_factory):
    """The sampler's first pass runs at start; status, metrics and top all read it."""
    d = daemon_factory(CONF).start()
    d.wait_state("a:s", "RUNNING")

    def sampled():
        p = d.process("a:s")
        return p if p["rss"] else None

    p = retry_until(sampled, 15, 0.1, "a metrics pass covering a:s")
    assert p["rss"] > 100_000 and p["cpu_percent"] is not None
    out = d.ctl("metrics", "a:s", "--json")
    assert out.returncode == 0, out.stderr
    points = json.loads(out.stdout)["points"]
    assert points and points[-1]["rss"] > 100_000
    csv_out = d.ctl("metrics", "a:s", "--csv")
    assert csv_out.returncode == 0 and csv_out.stdout.count("\n") >= 2
    top = d.ctl("top", "-n", "1")
    assert top.returncode == 0 and "a:s" in top.stdout
    assert "\x1b[" not in top.stdout  # not a terminal: one plain frame


def test_logs_tail_and_follow(daemon_factory):
    conf = {"l.yaml": "workspace: l\nprocesses:\n  talk:\n    command: [sh, -c, "
            "'for i in 1 2 3; do echo line$i; done; echo oops >&2; exec sleep 600']\n"
            "    start_secs: 0\n"}
    d = daemon_factory(conf).start()
    d.wait_state("l:talk", "RUNNING")
    out = retry_until(lambda: (o := d.ctl("logs", "l:talk", "-n", "2")).stdout.count("\n") == 2
                      and o, 10, 0.05, "two log lines")
    assert out.stdout.splitlines() == ["line3", "oops"]
    follower = subprocess.Popen(
        [script("wezparctl"), "--socket", str(d.socket), "logs", "l:talk", "-n", "1", "-f"],
        stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        assert follower.stdout is not None
        assert follower.stdout.readline().strip() == "oops"
        log_path = d.state / "logs" / "l" / "talk.log"
        with open(log_path, "a") as f:  # what the process would append next
            f.write("later\n")
        assert follower.stdout.readline().strip() == "later"
    finally:
        follower.terminate()
        follower.wait(timeout=10)
        if follower.stdout:
            follower.stdout.close()
    assert d.ctl("logs", "l:nope").returncode == 1


def test_autostart_off_is_not_a_user_stop(daemon_factory):
    conf = {"m.yaml": "workspace: m\nprocesses:\n"
                      "  idle: {command: sleep 600, autostart: false}\n"
                      "  busy: {command: sleep 600, start_secs: 0}\n"}
    d = daemon_factory(conf).start()
    d.wait_state("m:busy", "RUNNING")
    assert d.ctl("stop", "m:busy").returncode == 0
    table = {line.split()[0]: line for line in d.ctl("status").stdout.splitlines()[1:]}
    assert "autostart off" in table["m:idle"] and "stopped by user" not in table["m:idle"]
    assert "stopped by user" in table["m:busy"]
    assert d.ctl("start", "m:idle").returncode == 0
    assert d.process("m:idle")["autostart_off"] is False
