"""What `status` says in text (issue 11.11): one fact once, nothing from an instance that is
gone; and the CLI's verdicts: unknown ids, `plan --exit-code` (`init --template nope` is in
tests/spec/test_cli.py)."""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest

from tests.support import DaemonProcess, retry_until
from wezparallel.cli import format as fmt


def row(**p: Any) -> dict[str, Any]:
    base = {"id": "w:a", "state": "RUNNING", "pid": 7, "restarts": 0, "wanted": True,
            "uptime": 5.0, "error": None, "exit": None, "activity": None, "health": "unknown",
            "cpu_percent": None, "rss": None, "backend": "tmux", "pane": "%1"}
    return base | p


def info(**p: Any) -> str:
    status = {"processes": [row(**p)], "config": {"errors": []}, "notices": []}
    header, line = fmt.status_table(status)
    return line[header.index("INFO"):]


@pytest.mark.parametrize(("fields", "text"), [
    # an agent that died too soon: its activity "exited" is the state again
    ({"state": "BACKOFF", "pid": None, "activity": "exited",
      "error": "exited too quickly (exit 1)"}, "exited too quickly (exit 1)"),
    # stopped by the user: the TERM it died of is the stop, not news
    ({"state": "STOPPED", "pid": None, "wanted": False, "activity": "exited",
      "exit": "exit 143"}, "stopped by user"),
    # running again: how the last instance ended belongs to that instance
    ({"state": "RUNNING", "exit": "killed by SIGKILL", "activity": "idle"}, "idle"),
    ({"state": "RUNNING", "exit": "exit 1", "health": "healthy"}, "healthy"),
    ({"state": "EXITED", "pid": None, "exit": "exit 0", "health": "healthy",
      "activity": "exited"}, "exit 0"),
    ({"state": "FATAL", "pid": None, "error": "gave up", "health": "unhealthy",
      "health_reason": "x"}, "gave up"),
    ({"state": "STOPPED", "pid": None, "wanted": False, "autostart_off": True},
     "autostart off"),
])
def test_info_says_each_thing_once_and_only_about_the_current_instance(
        fields: dict[str, Any], text: str) -> None:
    assert info(**fields) == text


def test_a_backoff_row_says_when_it_tries_again() -> None:
    assert info(state="BACKOFF", pid=None, error="exited 2s after starting (exit 3)",
                retry_in=1.5) == "exited 2s after starting (exit 3); next try in 1.5s"


# --- through a real daemon -------------------------------------------------------------------

CONF = {"a.yaml": "workspace: a\nprocesses:\n"
                  "  s: {command: sleep 600, start_secs: 0}\n"
                  "  t: {command: sleep 600, start_secs: 0}\n"}


def table(d: DaemonProcess) -> dict[str, list[str]]:
    out = d.ctl("status")
    lines = out.stdout.splitlines()
    header = lines[0]
    columns = ["ID", "STATE", "PID", "UPTIME", "RESTARTS", "CPU%", "MEM", "BACKEND", "INFO"]
    starts = [header.index(c) for c in columns]
    rows = {}
    for line in lines[1:]:
        cells = [line[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]
        rows[cells[0]] = cells
    return rows


def test_stopped_rows_have_no_cost_running_rows_no_old_exit_and_start_resets_restarts(
        daemon_factory: Any) -> None:
    d = daemon_factory(CONF).start()
    first = d.wait_state("a:s", "RUNNING")
    os.kill(first["pid"], signal.SIGKILL)
    again = retry_until(lambda: (p := d.process("a:s"))["state"] == "RUNNING"
                        and p["pid"] != first["pid"] and p, 15, 0.05, "a restart")
    assert again["restarts"] == 1
    assert table(d)["a:s"][8] == ""  # not "killed by SIGKILL": that was the last instance
    retry_until(lambda: d.process("a:s")["rss"], 20, 0.1, "a metrics sample")
    assert d.ctl("stop", "a:s").returncode == 0
    stopped = d.process("a:s")
    assert (stopped["cpu_percent"], stopped["rss"]) == (None, None)
    cells = table(d)["a:s"]
    assert (cells[1], cells[5], cells[6], cells[8]) == ("STOPPED", "-", "-", "stopped by user")
    assert d.ctl("start", "a:s").returncode == 0
    assert d.process("a:s")["restarts"] == 0  # the user started it afresh


UNKNOWN = [
    ("status", "nosuch"), ("status", "nosuch:*"), ("status", "a:s", "a:zz"),
    ("start", "nosuch"), ("stop", "a:nosuch"), ("restart", "nosuch:*"),
    ("logs", "nosuch"), ("send", "nosuch", "hi"), ("send", "--workspace", "nosuch", "hi"),
    ("capture", "nosuch"), ("attach", "nosuch"), ("wait", "nosuch", "--until", "idle"),
    ("wait", "nosuch:*", "--until", "idle"), ("metrics", "nosuch"),
    ("worktree", "remove", "nosuch"), ("layout", "nosuch", "tiled"),
]


def test_an_unknown_id_or_a_pattern_matching_nothing_fails_every_verb(
        daemon_factory: Any) -> None:
    d = daemon_factory(CONF).start()
    d.wait_state("a:s", "RUNNING")
    wrong = {}
    for args in UNKNOWN:
        out = d.ctl(*args, timeout=30)
        if out.returncode != 1 or ("nosuch" not in out.stderr and "zz" not in out.stderr):
            wrong[" ".join(args)] = (out.returncode, out.stdout, out.stderr)
    assert wrong == {}


@pytest.mark.parametrize("verb", ["capture", "attach", "metrics"])
def test_a_verb_for_one_process_refuses_a_pattern_matching_several(
        daemon_factory: Any, verb: str) -> None:
    d = daemon_factory(CONF).start()
    out = d.ctl(verb, "a:*")
    assert out.returncode == 1
    assert "'a:*' matches 2 processes (a:s, a:t); name one" in out.stderr


def test_plan_exit_code_says_whether_a_reload_would_change_anything(
        daemon_factory: Any) -> None:
    d = daemon_factory(CONF, watch=False).start()
    d.wait_state("a:t", "RUNNING")
    assert d.ctl("plan", "--exit-code").returncode == 0
    (d.conf / "a.yaml").write_text(CONF["a.yaml"].replace("sleep 600, start", "sleep 601, start"))
    changed = d.ctl("plan", "--exit-code")
    assert changed.returncode == 1 and "a:s" in changed.stdout, changed
    assert d.ctl("plan").returncode == 0  # without the flag a plan is not a failure

