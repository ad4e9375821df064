"""The engine end to end: a real daemon, real children, the real socket and CLI."""

from __future__ import annotations

import os
import signal
import time

from tests.support import pid_alive, retry_until

WORKSPACE = """
workspace: demo
processes:
  sleeper:
    command: sleep 600
    start_secs: 0.2
  flapper:
    command: [sh, -c, "exit 3"]
    start_secs: 1
    max_restarts: 3
    backoff: {initial: 50ms, max: 200ms, factor: 2}
  stubborn:
    command: [sh, -c, "trap '' TERM; while :; do sleep 0.05; done"]
    start_secs: 0
    stop_timeout: 500ms
"""


def test_sigkilled_child_is_restarted_with_new_pid(daemon_factory):
    d = daemon_factory({"demo.yaml": WORKSPACE}).start()
    first = d.wait_state("demo:sleeper", "RUNNING")
    os.kill(first["pid"], signal.SIGKILL)

    def restarted():
        p = d.process("demo:sleeper")
        return p if p["state"] == "RUNNING" and p["pid"] != first["pid"] else None

    second = retry_until(restarted, 10, 0.02, "a new pid")
    assert second["restarts"] == first["restarts"] + 1
    assert not pid_alive(first["pid"])


def test_flapping_process_ends_fatal_after_max_restarts(daemon_factory):
    d = daemon_factory({"demo.yaml": WORKSPACE}).start()
    fatal = d.wait_state("demo:flapper", "FATAL", timeout=15)
    assert "gave up after 3 short runs in a row" in fatal["error"]
    status = d.ctl("status")
    assert status.returncode == 1  # a FATAL process makes status fail, for scripts
    assert "demo:flapper" in status.stdout and "FATAL" in status.stdout


def test_stop_escalates_to_sigkill_and_stays_stopped(daemon_factory):
    d = daemon_factory({"demo.yaml": WORKSPACE}).start()
    running = d.wait_state("demo:stubborn", "RUNNING")
    t0 = time.monotonic()
    out = d.ctl("stop", "demo:stubborn")
    elapsed = time.monotonic() - t0
    assert out.returncode == 0, out.stdout + out.stderr
    assert "stop ok" in out.stdout
    stopped = d.process("demo:stubborn")
    assert stopped["state"] == "STOPPED" and stopped["exit_signal"] == signal.SIGKILL
    assert elapsed >= 0.5
    assert not pid_alive(running["pid"])
    time.sleep(0.3)  # nothing may restart a user's stop: give the policy a chance to misbehave
    assert d.process("demo:stubborn")["state"] == "STOPPED"
    assert d.ctl("start", "demo:stubborn").returncode == 0
    assert d.process("demo:stubborn")["state"] == "RUNNING"


def test_restart_gives_new_pid_and_start_of_fatal_retries(daemon_factory):
    d = daemon_factory({"demo.yaml": WORKSPACE}).start()
    before = d.wait_state("demo:sleeper", "RUNNING")
    out = d.ctl("restart", "demo:sleeper", "--json")
    assert out.returncode == 0, out.stderr
    after = d.process("demo:sleeper")
    assert after["pid"] != before["pid"] and after["state"] == "RUNNING"
    d.wait_state("demo:flapper", "FATAL", timeout=15)
    out = d.ctl("start", "demo:flapper", "--timeout", "10")
    assert out.returncode == 1  # it fails again, and says so
    assert "FAILED" in out.stdout


def test_depends_on_starts_after_dependency_is_running(daemon_factory):
    conf = """
workspace: deps
processes:
  db: {command: sleep 600, start_secs: 1}
  api: {command: sleep 600, start_secs: 0, depends_on: [db]}
  web: {command: sleep 600, start_secs: 0, depends_on: [api]}
"""
    d = daemon_factory({"deps.yaml": conf}).start(wait=False)
    retry_until(lambda: d.ctl("ping").returncode == 0, 15, 0.02, "ping")
    early = {p["name"]: p for p in d.status()["processes"]}
    assert early["db"]["state"] == "STARTING"
    assert early["api"]["pid"] is None and early["web"]["pid"] is None
    d.wait_state("deps:web", "RUNNING")
    procs = {p["name"]: p for p in d.status()["processes"]}
    assert procs["db"]["since"] <= procs["api"]["since"] <= procs["web"]["since"]


def test_sigterm_stops_every_child_and_removes_socket(daemon_factory):
    d = daemon_factory({"demo.yaml": WORKSPACE}).start()
    pids = [d.wait_state(i, "RUNNING")["pid"] for i in ("demo:sleeper", "demo:stubborn")]
    assert d.stop() == 0
    for pid in pids:
        assert not pid_alive(pid)
    assert not d.socket.exists()
    assert d.ctl("status").returncode == 3
