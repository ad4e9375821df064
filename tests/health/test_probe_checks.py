"""The checks against real servers on loopback, real commands and real files."""

from __future__ import annotations

import asyncio
import http.server
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from wezparallel.health.probes import (
    ProbeInputs,
    ProbeResult,
    check_exec,
    check_http,
    check_idle,
    check_memory,
    check_output,
    check_tcp,
    read_new_lines,
    run_check,
    tree_rss,
)
from wezparallel.spec.model import HealthProbe

RELEASE = threading.Event()  # lets the /slow handler go when its test is over


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/slow":
            RELEASE.wait(10)
            return  # no answer at all
        code = {"/ok": 200, "/ok?x=1": 204, "/missing": 404, "/boom": 500}.get(self.path, 200)
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_port() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    RELEASE.clear()
    yield server.server_address[1]
    RELEASE.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def free_port() -> int:
    """A port nothing listens on (bound then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(coro: object) -> ProbeResult:
    return asyncio.run(coro)  # type: ignore[arg-type]


def test_http_2xx_is_healthy_anything_else_is_not(http_port: int) -> None:
    base = f"http://127.0.0.1:{http_port}"
    assert run(check_http(f"{base}/ok", 5)) == ProbeResult(True)
    assert run(check_http(f"{base}/ok?x=1", 5)) == ProbeResult(True)
    assert run(check_http(f"{base}/missing", 5)) == ProbeResult(
        False, f"GET {base}/missing: HTTP 404")
    assert run(check_http(f"{base}/boom", 5)).reason.endswith("HTTP 500")


def test_http_timeout_refused_and_bad_urls(http_port: int, free_port: int) -> None:
    slow = run(check_http(f"http://127.0.0.1:{http_port}/slow", 0.3))
    assert slow == ProbeResult(False, f"GET http://127.0.0.1:{http_port}/slow: "
                                      "no answer within 0.3s")
    refused = run(check_http(f"http://127.0.0.1:{free_port}/", 5))
    assert refused == ProbeResult(False, f"GET http://127.0.0.1:{free_port}/: "
                                         "Connection refused")
    assert run(check_http("ftp://x/", 5)) == ProbeResult(False, "not an http(s) URL: 'ftp://x/'")


def test_http_against_something_that_is_not_http(free_port: int) -> None:
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        port = srv.getsockname()[1]

        def answer() -> None:
            conn, _ = srv.accept()
            with conn:
                conn.recv(1024)
                conn.sendall(b"SSH-2.0-OpenSSH\r\n")

        t = threading.Thread(target=answer, daemon=True)
        t.start()
        result = run(check_http(f"http://127.0.0.1:{port}/", 5))
        t.join(5)
    assert not result.ok and "not an HTTP answer: 'SSH-2.0-OpenSSH'" in result.reason


def test_tcp_open_and_closed_ports(http_port: int, free_port: int) -> None:
    assert run(check_tcp("127.0.0.1", http_port, 5)).ok
    closed = run(check_tcp("127.0.0.1", free_port, 5))
    assert closed == ProbeResult(False, f"127.0.0.1:{free_port}: Connection refused")


def test_exec_exit_status_stderr_and_missing_program(tmp_path: Path) -> None:
    assert run(check_exec(("true",), 5)) == ProbeResult(True)
    failed = run(check_exec(("sh", "-c", "echo first >&2; echo 'db down' >&2; exit 3"), 5))
    assert failed == ProbeResult(False, "sh exited 3: db down")
    missing = run(check_exec(("no-such-program-xyz",), 5))
    assert not missing.ok and missing.reason.startswith("cannot run 'no-such-program-xyz'")
    marker = tmp_path / "ran"
    assert run(check_exec(("sh", "-c", f"pwd > {marker}; test \"$X\" = 1"), 5,
                          cwd=str(tmp_path), env={"X": "1", "PATH": os.defpath})).ok
    assert marker.read_text().strip() == str(tmp_path)


def test_exec_timeout_kills_the_whole_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    script = f"sleep 60 & echo $! > {pidfile}; wait"
    start = time.monotonic()
    result = run(check_exec(("sh", "-c", script), 0.5))
    assert result == ProbeResult(False, "sh timed out after 0.5s")
    assert time.monotonic() - start < 10
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_output_idle_and_memory_checks() -> None:
    assert check_output(r"Traceback|FATAL", ["ok", "still ok"]) == ProbeResult(True)
    assert check_output(r"Traceback|FATAL", ["ok", "FATAL: disk full\n"]) == ProbeResult(
        False, "output matched 'Traceback|FATAL': FATAL: disk full")
    assert check_idle("busy", 0.0, 1000.0, 60) == ProbeResult(True)
    assert check_idle("idle", 100.0, 159.0, 60) == ProbeResult(True)
    assert check_idle("waiting", 100.0, 400.0, 60) == ProbeResult(
        False, "waiting for 300s (limit 60s)")
    assert check_idle("error", 100.0, 400.0, 60) == ProbeResult(
        False, "error for 300s (limit 60s)")
    assert check_memory(100 * 2**20, 200 * 2**20) == ProbeResult(True)
    assert check_memory(300 * 2**20, 200 * 2**20) == ProbeResult(
        False, "RSS 300 MiB above 200 MiB")
    assert check_memory(None, 1) == ProbeResult(True)


def test_run_check_dispatches_and_flags_a_probe_without_its_target(http_port: int) -> None:
    inputs = ProbeInputs(now=500.0, new_lines=("Traceback (most recent call last):",),
                         activity="idle", activity_since=100.0, rss=10)
    cases = [
        (HealthProbe("http", url=f"http://127.0.0.1:{http_port}/ok"), True),
        (HealthProbe("tcp", port=http_port), True),
        (HealthProbe("exec", command=("false",)), False),
        (HealthProbe("output", pattern="Traceback"), False),
        (HealthProbe("idle", duration=60), False),
        (HealthProbe("memory", max_bytes=100), True),
        (HealthProbe("http"), False),
    ]
    results = [run(run_check(p, inputs)) for p, _ in cases]
    assert [r.ok for r in results] == [ok for _, ok in cases]
    assert results[-1].reason == "http probe is missing its target field"


def test_read_new_lines_follows_a_growing_and_truncated_log(tmp_path: Path) -> None:
    log = tmp_path / "out.log"
    assert read_new_lines(log, 0) == ((), 0)
    log.write_text("one\ntwo\npart")
    lines, offset = read_new_lines(log, 0)
    assert (lines, offset) == (("one", "two"), 8)
    with log.open("a") as fh:
        fh.write("ial\nthree\n")
    lines, offset = read_new_lines(log, offset)
    assert lines == ("partial", "three")
    log.write_text("new\n")
    assert read_new_lines(log, offset) == (("new",), 4)


def test_tree_rss_counts_children() -> None:
    code = "import subprocess,sys; p=subprocess.Popen(['sleep','30']); print(p.pid, flush=True); " \
           "sys.stdin.read(); p.kill(); p.wait()"
    parent = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        total = tree_rss(parent.pid)
        alone = tree_rss(child)
        assert total is not None and alone is not None
        assert total > alone > 0
    finally:
        parent.communicate("", timeout=30)
    assert tree_rss(parent.pid) is None
