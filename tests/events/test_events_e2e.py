"""Events through a real daemon and the real CLI: killed children, hooks, following, restarts."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.support import DaemonProcess, retry_until, script
from wezparallel.events.journal import FILE_NAME, Journal
from wezparallel.events.model import Event

HOOKED = """workspace: w
on:
  crashed: 'cat > "{out}/$WEZPARALLEL_EVENT-$WEZPARALLEL_PROCESS.json"'
processes:
  s:
    command: sleep 600
    start_secs: 0
    restart: always
    on:
      running: [/bin/sh, -c, 'cat >> "{out}/running.ndjson"']
"""

LOOPS = """workspace: loop
processes:
{procs}
"""
LOOP = ("  l{i}: {{command: 'true', start_secs: 0, restart: always, autostart: false, "
        "backoff: {{reset_after: 0}}}}\n")  # every run counts as lasting: no backoff


def events(d: DaemonProcess, *args: str) -> list[dict[str, Any]]:
    out = d.ctl("events", "--json", *args)
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


def states(evs: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["from"], e["to"]) for e in evs if e["type"] == "state"]


def test_a_killed_child_yields_its_state_events_in_order_and_runs_the_hook(
        daemon_factory, tmp_path: Path) -> None:
    d = daemon_factory({"w.yaml": HOOKED.format(out=tmp_path)}).start()
    first = d.wait_state("w:s", "RUNNING")["pid"]
    os.kill(first, signal.SIGKILL)
    retry_until(lambda: (p := d.process("w:s"))["state"] == "RUNNING" and p["pid"] != first,
                15, 0.05, "the restart")
    evs = events(d, "w:s")
    # killed within backoff.reset_after: a short run, so it backs off before the restart
    assert states(evs) == [("STOPPED", "STARTING"), ("STARTING", "RUNNING"),
                           ("RUNNING", "BACKOFF"), ("BACKOFF", "STARTING"), ("STARTING", "RUNNING")]
    crash = next(e for e in evs if e["to"] == "BACKOFF")
    assert crash["pid"] == first and crash["exit_signal"] == signal.SIGKILL
    assert crash["crashed"] is True and crash["id"] == "w:s"
    hook_out = tmp_path / "crashed-w:s.json"
    retry_until(hook_out.exists, 15, 0.05, "the crashed hook's output")
    assert json.loads(retry_until(hook_out.read_text, 5, 0.05, "hook output")) == crash
    running = retry_until(lambda: (tmp_path / "running.ndjson").read_text().count("\n") == 2
                          and (tmp_path / "running.ndjson").read_text(), 15, 0.05,
                          "both running hooks")
    assert [json.loads(line)["to"] for line in running.splitlines()] == ["RUNNING", "RUNNING"]
    text = d.ctl("events", "w:s", "--type", "state").stdout
    assert "w:s" in text and "RUNNING -> BACKOFF (killed by SIGKILL)" in text


def _follower(d: DaemonProcess, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [script("wezparctl"), "--socket", str(d.socket), "events", "-f", "--json", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)


def _read_until_seq(proc: subprocess.Popen[str], last: int) -> list[dict[str, Any]]:
    assert proc.stdout is not None
    got: list[dict[str, Any]] = []
    while not got or got[-1]["seq"] < last:
        line = proc.stdout.readline()
        assert line, f"the follower ended early: {proc.stderr.read() if proc.stderr else ''}"
        got.append(json.loads(line))
    return got


def _burst(d: DaemonProcess, at_least: int) -> int:
    """Crash-loop the `loop` workspace until `at_least` more events exist; the last seq."""
    start = events(d)[-1]["seq"]
    assert d.ctl("start", "--no-wait", "loop").returncode == 0
    retry_until(lambda: events(d, "--since", str(start))[-1]["seq"] >= start + at_least,
                60, 0.1, f"{at_least} events")
    assert d.ctl("stop", "loop").returncode == 0
    return int(events(d)[-1]["seq"])


def test_following_from_the_journal_misses_nothing_and_repeats_nothing(daemon_factory) -> None:
    conf = LOOPS.format(procs="".join(LOOP.format(i=i) for i in range(3)))
    d = daemon_factory({"loop.yaml": conf}).start()
    follower = _follower(d)
    try:
        assert follower.stdout is not None
        first = json.loads(follower.stdout.readline())  # subscribed: the journal is coming
        assert first["seq"] == 1 and first["type"] == "daemon"
        last = _burst(d, 300)
        got = [first, *_read_until_seq(follower, last)]
    finally:
        follower.terminate()
        follower.communicate(timeout=10)
    assert [e["seq"] for e in got] == list(range(1, last + 1))
    assert [e["seq"] for e in events(d)] == list(range(1, last + 1))


def test_events_survive_a_restart_and_a_sigkill_of_the_daemon(daemon_factory) -> None:
    d = daemon_factory({"w.yaml": "workspace: w\nprocesses:\n"
                                  "  s: {command: sleep 600, start_secs: 0}\n"}).start()
    d.wait_state("w:s", "RUNNING")
    before = events(d)
    d.kill(signal.SIGKILL)  # the sleeper is left running and adopted below
    d.start()
    after = events(d, "--since", "0")
    assert after[:len(before)] == before
    restarted = after[len(before):]
    assert [e["seq"] for e in restarted] == list(range(before[-1]["seq"] + 1,
                                                       after[-1]["seq"] + 1))
    assert any(e["type"] == "daemon" and e["what"] == "adopted" and e["count"] == 1
               for e in restarted)
    assert d.stop() == 0
    d.start()
    again = events(d, "--since", "1h")
    assert again[:len(after)] == after
    assert [e["what"] for e in again[len(after):] if e["type"] == "daemon"] == [
        "stopping", "started", "adopted"]


def test_changing_on_is_applied_in_place_on_reload(daemon_factory, tmp_path: Path) -> None:
    conf = ("workspace: w\n{on}processes:\n"
            "  s: {{command: sleep 600, start_secs: 0}}\n")
    hook = "on:\n  running: 'echo {word} >> \"{out}/hooks\"'\n"
    d = daemon_factory({"w.yaml": conf.format(on=hook.format(word="old", out=tmp_path))},
                       watch=False).start()
    first = d.wait_state("w:s", "RUNNING")["pid"]
    hooks = tmp_path / "hooks"
    retry_until(hooks.exists, 15, 0.05, "the first hook")
    (d.conf / "w.yaml").write_text(conf.format(on=hook.format(word="new", out=tmp_path)))
    assert d.ctl("reload").returncode == 0
    assert d.process("w:s")["pid"] == first  # no restart for a change of `on:`
    reload = [e for e in events(d, "--type", "config")]
    assert reload[-1]["refused"] == [] and reload[-1]["files"] == [str(d.conf / "w.yaml")]
    assert d.ctl("restart", "w:s").returncode == 0
    retry_until(lambda: hooks.read_text().split() == ["old", "new"], 15, 0.05,
                "the changed hook to run")


def test_report_counts_crashes_and_restarts_from_the_journal(daemon_factory) -> None:
    d = daemon_factory({"w.yaml": "workspace: w\nprocesses:\n"
                        "  s: {command: sleep 600, start_secs: 0, restart: always}\n"
                        "  t: {command: sleep 600, start_secs: 0}\n"}).start()
    for _ in range(2):
        pid = d.wait_state("w:s", "RUNNING")["pid"]
        os.kill(pid, signal.SIGKILL)
        retry_until(lambda p=pid: (s := d.process("w:s"))["state"] == "RUNNING"
                    and s["pid"] != p, 15, 0.05, "the restart")
    out = d.ctl("report", "w:s", "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    (s,) = result["processes"]
    assert (s["id"], s["crashes"], s["restarts"]) == ("w:s", 2, 2)
    assert 0 < s["uptime_percent"] <= 100 and s["mean_time_between_crashes"] > 0
    assert result["journal_disabled"] is None
    text = d.ctl("report", "--since", "1h").stdout.splitlines()
    assert text[0].split() == ["PROCESS", "UPTIME", "RESTARTS", "CRASHES", "BACKOFF", "FATAL",
                               "MTBC"]
    assert text[1].split()[0] == "w:s" and text[1].split()[2:4] == ["2", "2"]
    assert text[2].split()[0] == "w:t" and text[2].split()[2:4] == ["0", "0"]
    bad = d.ctl("report", "--since", "42")
    assert bad.returncode == 2 and "duration" in bad.stderr


def test_event_retention_is_a_daemon_option(daemon_factory) -> None:
    d = daemon_factory({}, extra=("--event-retention", "2"))
    now = time.time()
    journal = Journal(d.state / FILE_NAME)
    journal.append([Event(1, now - 3 * 86400, "notice", None, {"message": "three days ago"}),
                    Event(2, now - 86400, "notice", None, {"message": "yesterday"})])
    journal.close()
    d.start()
    kept = events(d, "--type", "notice")
    assert [e["message"] for e in kept] == ["yesterday"]
    assert events(d)[-1]["seq"] > 2  # numbering went on after the stored events


def test_a_follower_ends_cleanly_when_the_daemon_stops(daemon_factory) -> None:
    d = daemon_factory({"w.yaml": "workspace: w\nprocesses:\n"
                                  "  s: {command: sleep 600, start_secs: 0}\n"}).start()
    d.wait_state("w:s", "RUNNING")
    follower = _follower(d)
    assert follower.stdout is not None
    assert json.loads(follower.stdout.readline())["type"] == "daemon"  # subscribed
    assert d.stop() == 0
    rest, err = follower.communicate(timeout=30)
    assert follower.returncode == 0, err
    tail = [json.loads(line) for line in rest.splitlines()][-3:]
    assert [(e.get("what") or e["to"]) for e in tail] == ["stopping", "STOPPING", "STOPPED"]


def test_a_report_counts_the_daemon_down_time_apart_after_a_sigkill_and_a_stop(
        daemon_factory) -> None:
    d = daemon_factory({"w.yaml": "workspace: w\nprocesses:\n"
                                  "  s: {command: sleep 600, start_secs: 0}\n"}).start()
    d.wait_state("w:s", "RUNNING")
    # written once the first starts settled (housekeeping comes after them)
    retry_until((d.state / "status.json").exists, what="the first status file")
    d.kill(signal.SIGKILL)  # no stop event: the status file's heartbeat is the last sign
    heartbeat = json.loads((d.state / "status.json").read_text())["daemon"]["written_at"]
    killed_at = time.time()
    d.start()
    assert d.stop() == 0  # a clean stop: sleep stops, the status file says up: false
    stopped_status = json.loads((d.state / "status.json").read_text())["daemon"]
    assert stopped_status["up"] is False
    d.start()
    d.wait_state("w:s", "RUNNING")
    journal = events(d)
    starts = [e for e in journal if e["type"] == "daemon" and e["what"] == "started"]
    assert len(starts) == 3 and starts[0]["previous_seen"] is None
    last_sign = max(heartbeat, *(e["time"] for e in journal if e["seq"] < starts[1]["seq"]))
    assert starts[1]["previous_seen"] == last_sign < killed_at < starts[1]["time"]
    assert starts[2]["previous_seen"] == stopped_status["written_at"]
    out = d.ctl("report", "--json", "w:s")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    down = sum(s["time"] - s["previous_seen"] for s in starts[1:])
    assert down > 0 and abs(report["daemon_down"] - down) < 1e-6
    (s,) = report["processes"]
    first = next(e["time"] for e in events(d, "--type", "state", "w:s"))
    assert abs(s["observed"] - (report["end"] - first - down)) < 1e-6  # not counted as seen
    text = d.ctl("report", "w:s").stdout
    assert text.startswith("daemon down ") and "counted in no figure below" in text
    lines = d.ctl("events", "--type", "daemon").stdout.splitlines()
    started = [line for line in lines if "daemon started" in line]
    assert len(started) == 3 and "; down" not in started[0]
    assert all(re.search(r"daemon started \(pid \d+; down \d[\dms]*\)$", line)
               for line in started[1:]), started
