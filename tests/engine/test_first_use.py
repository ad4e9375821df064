"""A daemon of plain processes loads no part it has no use for, and loads each one the moment
it is wanted (issue 15.3): the task board, the agents' activity rules and failure patterns,
the typing of prompts, the health probes, the older tool's protocol.

Seen in a real `wezparallel` through Python's own import log: PYTHONPROFILEIMPORTTIME makes the
interpreter write one line per module it imports, when it imports it, to the daemon's stderr
(its log here). The agent is the stand-in CLI (tests/fakes/claude_stub.py), reporting through
the real hooks.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.engine.test_agents_e2e import StubAgent, wait_activity
from tests.support import DaemonProcess, retry_until

DaemonFactory = Callable[..., DaemonProcess]

PLAIN = "workspace: ws\nprocesses:\n" + "".join(
    f"  p{i}: {{command: sleep 100000, start_secs: 0}}\n" for i in range(3))

BOARD = ("wezparallel.runtime.board", "wezparallel.tasks.store", "wezparallel.tasks.model",
         "wezparallel.tasks.dispatch", "wezparallel.runtime.task_feedback")
AGENTS = ("wezparallel.agents.activity", "wezparallel.agents.failures")
PROMPTS = ("wezparallel.runtime.prompts", "wezparallel.backends.paste")
HEALTH = ("wezparallel.health.probes", "wezparallel.events.probes")
LEGACY = ("wezparallel.ipc.legacy",)  # the older wezterm-parallel's messages
UNUSED = BOARD + AGENTS + PROMPTS + HEALTH + LEGACY


@pytest.fixture(autouse=True)
def import_log(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPROFILEIMPORTTIME", "1")


def imported(d: DaemonProcess, since: int = 0) -> set[str]:
    """The modules the daemon imported, from byte `since` of its log on."""
    text = d.log.read_bytes()[since:].decode(errors="replace")
    return {line.rsplit("|", 1)[1].strip() for line in text.splitlines()
            if line.startswith("import time:")}


def started(d: DaemonProcess) -> None:
    def all_running() -> bool:
        procs = d.status()["processes"]
        return len(procs) == 3 and all(p["state"] == "RUNNING" for p in procs)
    retry_until(all_running, 30, 0.05, "all RUNNING")


def test_plain_processes_load_no_board_agents_prompts_or_probes(
        daemon_factory: DaemonFactory) -> None:
    d = daemon_factory({"ws.yaml": PLAIN}).start()
    started(d)
    seen = imported(d)
    assert "wezparallel.runtime.supervisor" in seen  # the log is read right
    assert seen.isdisjoint(UNUSED), sorted(seen & set(UNUSED))
    assert not (d.state / "tasks.sqlite").exists()


def test_the_first_task_opens_the_board_and_a_restart_goes_on_with_it(
        daemon_factory: DaemonFactory) -> None:
    d = daemon_factory({"ws.yaml": PLAIN}).start()
    started(d)
    assert imported(d).isdisjoint(BOARD)
    out = d.ctl("task", "add", "write the docs")
    assert out.returncode == 0, out.stderr + d.daemon_log()
    assert set(BOARD) <= imported(d)
    assert (d.state / "tasks.sqlite").exists()
    d.stop()
    mark = d.log.stat().st_size
    d.start()
    started(d)
    assert set(BOARD) <= imported(d, since=mark)  # a saved board is opened at start
    out = d.ctl("task", "list")
    assert out.returncode == 0 and "write the docs" in out.stdout, out.stdout + out.stderr


def test_an_agent_added_by_a_reload_is_tracked_through_its_hooks(
        daemon_factory: DaemonFactory) -> None:
    d = daemon_factory({"ws.yaml": PLAIN}).start()
    started(d)
    assert imported(d).isdisjoint(AGENTS)
    agent = StubAgent(d.root)
    (d.conf / "agent.yaml").write_text(agent.conf("tool").replace("workspace: ws",
                                                                  "workspace: team"))
    assert d.ctl("reload").returncode == 0
    wait_activity(d, "team:agent", "idle")
    assert set(AGENTS) <= imported(d)
    out = d.ctl("wait", "team:agent", "--until", "idle", "--timeout", "10")
    assert out.returncode == 0, out.stderr


def test_a_probe_a_reload_gives_a_running_process_checks_it(
        daemon_factory: DaemonFactory) -> None:
    d = daemon_factory({"ws.yaml": PLAIN}).start()
    started(d)
    before = d.process("ws:p0")
    assert imported(d).isdisjoint(HEALTH) and before["health"] == "unknown"
    (d.conf / "ws.yaml").write_text(PLAIN.replace(
        "p0: {command: sleep 100000, start_secs: 0}",
        "p0: {command: sleep 100000, start_secs: 0, health: [{kind: exec, command: 'true', "
        "interval: 200ms}]}"))
    assert d.ctl("reload").returncode == 0
    retry_until(lambda: d.process("ws:p0")["health"] == "healthy", 15, 0.05, "p0 healthy")
    assert d.process("ws:p0")["pid"] == before["pid"]  # in place: the same instance
    assert set(HEALTH) <= imported(d)


def test_a_board_that_cannot_be_opened_later_is_a_clean_error_and_the_daemon_goes_on(
        daemon_factory: DaemonFactory) -> None:
    """Its file used to be opened at start, where a failure stopped the daemon with the
    reason; opened by a call, the failure is that call's `failed` reply."""
    d = daemon_factory({"ws.yaml": PLAIN}).start()
    started(d)
    (d.state / "tasks.sqlite").symlink_to(d.state / "no" / "such" / "dir" / "tasks.sqlite")
    out = d.ctl("task", "add", "write the docs")
    assert out.returncode != 0
    assert "task store" in out.stderr and "Traceback" not in out.stderr, out.stderr
    assert len(d.status()["processes"]) == 3
