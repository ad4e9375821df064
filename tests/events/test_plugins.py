"""Plugins installed into the test venv with pip (offline), run by a real daemon."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.events.test_events_e2e import events
from tests.support import retry_until

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "event-log-plugin"
MISBEHAVING = ROOT / "tests" / "fakes" / "misbehaving-plugin"
DISTS = ("wezparallel-event-log", "wezparallel-misbehaving-test-plugin")


def _pip(*args: str) -> None:
    out = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Both distributions, built from their folders without network or build isolation;
    removed again afterwards (the misbehaving one is inert without its variable anyway)."""
    build = tmp_path_factory.mktemp("plugin-build")
    for source in (EXAMPLE, MISBEHAVING):
        copy = build / source.name  # setuptools writes egg-info next to the sources
        subprocess.run(["cp", "-r", str(source), str(copy)], check=True)
        _pip("install", "--no-build-isolation", "--no-index", "--no-deps", str(copy))
    try:
        yield
    finally:
        _pip("uninstall", "-y", *DISTS)


def test_the_example_plugin_and_misbehaving_ones_never_delay_a_restart(
        installed: None, daemon_factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "events.ndjson"
    monkeypatch.setenv("WEZPARALLEL_EVENT_LOG", str(log))
    monkeypatch.setenv("WEZPARALLEL_MISBEHAVE", "1")
    d = daemon_factory({"w.yaml": "workspace: w\nprocesses:\n  s: {command: sleep 600, "
                        "start_secs: 0, restart: always, backoff: {reset_after: 0}}\n"}).start()
    first = d.wait_state("w:s", "RUNNING")["pid"]
    os.kill(first, signal.SIGKILL)
    retry_until(lambda: (p := d.process("w:s"))["state"] == "RUNNING" and p["pid"] != first,
                15, 0.05, "the restart")
    evs = events(d, "w:s", "--type", "state")
    crash = next(e for e in evs if e["to"] == "EXITED")  # at once: reset_after 0
    back = next(e for e in evs if e["seq"] > crash["seq"] and e["to"] == "RUNNING")
    assert back["time"] - crash["time"] < 1.0  # the sleeping plugin takes 3 s per event

    listed = d.ctl("plugins", "--json")
    assert listed.returncode == 0, listed.stderr
    plugins = {p["name"]: p for p in json.loads(listed.stdout)["plugins"]}
    assert plugins["event-log"]["distribution"] == "wezparallel-event-log"
    assert plugins["event-log"]["hooks"] == ["wezparallel_commands", "wezparallel_event",
                                             "wezparallel_probe_kinds"]
    assert plugins["raises"]["error"] is None and plugins["sleeps"]["error"] is None
    assert "ModuleNotFoundError" in plugins["broken"]["error"]
    text = d.ctl("plugins")
    assert text.returncode == 1 and "broken" in text.stdout and "FAILED" in text.stdout

    retry_until(lambda: log.exists() and any(json.loads(line)["seq"] == back["seq"]
                                             for line in log.read_text().splitlines()),
                15, 0.05, "the example plugin to write the restart")
    shown = d.ctl("event-log", "-n", "1")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["type"] in ("state", "activity", "health", "notice")
    retry_until(lambda: "plugin raises failed on an event" in d.daemon_log(), 15, 0.05,
                "the raising plugin to be logged")
    assert d.ctl("status").returncode == 0


def test_a_plugin_probe_kind_validates_and_drives_health(
        installed: None, daemon_factory, tmp_path: Path) -> None:
    conf = ("workspace: w\nprocesses:\n  s:\n    command: sleep 600\n    start_secs: 0\n"
            "    health: [{kind: path-exists, interval: 200ms, retries: 1, "
            "options: {path: ready}}]\n")
    d = daemon_factory({"w.yaml": conf})
    assert d.ctl("validate").returncode == 0
    (tmp_path / "bad.yaml").write_text(conf.replace("path-exists", "path-exist"))
    bad = d.ctl("validate", str(tmp_path / "bad.yaml"))
    assert bad.returncode == 1 and "path-exists" in bad.stdout  # listed among the kinds
    d.start()
    d.wait_state("w:s", "RUNNING")
    retry_until(lambda: d.process("w:s")["health"] == "unhealthy", 15, 0.05, "unhealthy")
    assert "no such path" in d.process("w:s")["health_reason"]
    (d.conf / "ready").write_text("")
    retry_until(lambda: d.process("w:s")["health"] == "healthy", 15, 0.05, "healthy")
    health = [(e["from"], e["to"]) for e in events(d, "w:s", "--type", "health")]
    assert health == [("unknown", "unhealthy"), ("unhealthy", "healthy")]


def _written(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_a_plugin_listener_gets_the_events_from_the_daemons_start_once_and_in_order(
        installed: None, daemon_factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Plugins are discovered after the first starts; what the bus published before (the
    `daemon started` event, the first state events) still reaches the listener."""
    log = tmp_path / "events.ndjson"
    monkeypatch.setenv("WEZPARALLEL_EVENT_LOG", str(log))
    procs = "".join(f"  p{i}: {{command: sleep 600, start_secs: 0}}\n" for i in range(5))
    d = daemon_factory({"w.yaml": "workspace: w\nprocesses:\n" + procs}).start()
    for i in range(5):
        d.wait_state(f"w:p{i}", "RUNNING")
    journal = events(d)
    last = journal[-1]["seq"]
    written = retry_until(lambda: (w := _written(log)) and w[-1]["seq"] >= last and w, 15,
                          0.05, "the plugin to write what the journal holds")
    assert [e["seq"] for e in written] == list(range(1, len(written) + 1))  # once, in order
    assert (written[0]["type"], written[0]["what"]) == ("daemon", "started")
    assert written[:len(journal)] == journal
    running = {e["id"] for e in written if e["type"] == "state" and e["to"] == "RUNNING"}
    assert running == {f"w:p{i}" for i in range(5)}


def test_a_plugin_kind_loads_on_a_cold_start_and_an_unknown_one_fails_as_before(
        installed: None, daemon_factory) -> None:
    good = ("workspace: w\ndefaults:\n  health: [{kind: path-exists, options: {path: .}}]\n"
            "processes:\n  s: {command: sleep 600, start_secs: 0}\n")
    bad = good.replace("workspace: w", "workspace: b").replace("path-exists", "path-exist")
    d = daemon_factory({"w.yaml": good, "b.yaml": bad})
    validated = d.ctl("validate")  # wezparctl reads the plugins before it validates
    assert validated.returncode == 1
    d.start()
    d.wait_state("w:s", "RUNNING")
    (error,) = d.status()["config"]["errors"]
    shown = f"{error['file']}:{error['line']}:{error['column']}: {error['message']}"
    assert shown in validated.stdout.splitlines()
    assert error["message"] == ("`defaults.health[0].kind`: must be one of exec, http, tcp, "
                                "output, idle, memory, path-exists (got \"path-exist\"); "
                                "did you mean `path-exists`?")
    listed = json.loads(d.ctl("plugins", "--json").stdout)["plugins"]
    assert "event-log" in {p["name"] for p in listed}
