"""Tasks end to end: a real daemon, the real `wezparctl task`, the Claude stand-in in tmux panes,
each agent in a git worktree of a real repository.

The stand-in fires the hooks the daemon generated, so the board learns of each turn exactly as
it would from Claude Code: UserPromptSubmit when a task's prompt is taken, Stop when the turn
ends. Its words `sleep:S` (a long tool call) and `commit:F` (an edit committed in its worktree)
give the turns a length and a diff.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import DaemonProcess, git, make_repo, retry_until

STUB = Path(__file__).resolve().parents[1] / "fakes" / "claude_stub.py"
DaemonFactory = Callable[..., DaemonProcess]


class Board:
    """A daemon with agents in worktrees of `repo`, and the task CLI around it."""

    def __init__(self, factory: DaemonFactory, names: tuple[str, ...],
                 dispatch: str = "auto", deaf: bool = False) -> None:
        self.d = factory(backend="tmux")
        self.root = self.d.root
        self.repo = make_repo(self.root)
        self.turns = self.root / "turns.log"
        binary = self.root / "claude"
        redirect = ""
        if deaf:  # reads its prompts from a FIFO nobody writes: what is typed is never taken
            os.mkfifo(self.root / "deaf.in")
            redirect = f' <>"{self.root / "deaf.in"}"'
        binary.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{STUB}" "$@"{redirect}\n')
        binary.chmod(0o755)
        env = {"CLAUDE_CONFIG_DIR": str(self.root / "claude-config"),
               "CLAUDE_STUB_TURN_LOG": str(self.turns)}
        procs = {n: {"claude": {"binary": str(binary)}, "cwd": str(self.repo),
                     "start_secs": 0, "worktree": True, "env": env} for n in names}
        lines = ["workspace: ws", "backend: tmux", f"dispatch: {dispatch}", "processes:"]
        lines += [f"  {n}: {json.dumps(p)}" for n, p in procs.items()]
        (self.d.conf / "ws.yaml").write_text("\n".join(lines) + "\n")
        self.d.start()

    def ctl(self, *args: str) -> str:
        out = self.d.ctl(*args, timeout=90)
        assert out.returncode == 0, out.stderr + self.d.daemon_log()[-3000:]
        return out.stdout

    def add(self, title: str, *args: str) -> str:
        return self.ctl("task", "add", title, *args).strip()

    def tasks(self) -> dict[str, dict[str, Any]]:
        return {t["id"]: t for t in json.loads(self.ctl("task", "list", "--json"))}

    def until(self, what: str, check: Callable[[dict[str, dict[str, Any]]], bool],
              timeout: float = 60) -> dict[str, dict[str, Any]]:
        def done() -> dict[str, dict[str, Any]] | None:
            tasks = self.tasks()
            return tasks if check(tasks) else None
        return retry_until(done, timeout, 0.1, what)

    def screen(self, pid: str) -> str:
        return self.ctl("capture", pid, "-n", "400")

    def task_events(self) -> list[dict[str, Any]]:
        out = self.ctl("events", "--type", "task", "--json")
        return [json.loads(line) for line in out.splitlines()]

    def idle(self, *pids: str) -> None:
        for pid in pids:
            self.ctl("wait", pid, "--until", "idle", "--timeout", "60")


@pytest.fixture
def boards(daemon_factory: DaemonFactory, monkeypatch: pytest.MonkeyPatch
           ) -> Iterator[Callable[..., Board]]:
    for var in ("WEZTERM_PANE", "WEZTERM_UNIX_SOCKET", "TMUX", "TMUX_PANE", "DISPLAY"):
        monkeypatch.delenv(var, raising=False)
    made: list[Board] = []

    def make(*names: str, dispatch: str = "auto", deaf: bool = False) -> Board:
        made.append(Board(daemon_factory, names, dispatch, deaf))
        return made[-1]

    yield make
    for b in made:
        b.d.stop()
        subprocess.run(["tmux", "-S", str(b.d.state / "tmux.sock"), "kill-server"],
                       capture_output=True, timeout=30)


def _all(status: str) -> Callable[[dict[str, dict[str, Any]]], bool]:
    return lambda tasks: bool(tasks) and all(t["status"] == status for t in tasks.values())


def _never_two_on_one_agent(events: list[dict[str, Any]]) -> None:
    """Replay the task events: an agent is handed a task only while it has none in doing."""
    doing: dict[str, str] = {}  # agent -> task
    for e in events:
        task = e["task"]
        for agent, tid in list(doing.items()):
            if tid == task["id"] and task["status"] != "doing":
                del doing[agent]
        if task["status"] == "doing":
            held = doing.setdefault(task["agent"], task["id"])
            assert held == task["id"], f"{task['agent']} got {task['id']} while on {held}"


def _transcript(b: Board, session: str) -> str:
    """What the stand-in stored of a conversation (one JSON line per prompt)."""
    return next((b.root / "claude-config" / "projects").glob(f"*/{session}.jsonl")).read_text()


# --- dispatch ----------------------------------------------------------------------------------

def test_three_tasks_two_agents_all_reach_review_one_at_a_time_each(
        boards: Callable[..., Board]) -> None:
    b = boards("a", "b")
    b.idle("ws:a", "ws:b")
    prompts = {b.add(f"task {n}", "--body", f"do {n} sleep:0.5"): f"do {n} sleep:0.5"
               for n in ("one", "two", "three")}
    tasks = b.until("every task in review", _all("review"))
    assert {t["agent"] for t in tasks.values()} == {"ws:a", "ws:b"}
    for tid, t in tasks.items():  # the right prompt reached each agent, once
        screen = b.screen(t["agent"])
        assert screen.count(f"● Done: {prompts[tid]}") == 1, screen
        assert t["started"] <= t["finished"] and t["session_id"]
    for pid in ("ws:a", "ws:b"):
        done = [line for line in b.screen(pid).splitlines() if line.startswith("● Done:")]
        assert sorted(done) == sorted(f"● Done: {prompts[tid]}" for tid, t in tasks.items()
                                      if t["agent"] == pid)
    _never_two_on_one_agent(b.task_events())


def test_after_holds_a_task_until_the_one_before_is_done(
        boards: Callable[..., Board]) -> None:
    b = boards("a", "b")
    b.idle("ws:a", "ws:b")
    first = b.add("first", "--body", "first part")
    second = b.add("second", "--body", "second part", "--after", first, "--priority", "9")
    b.until("the first in review", lambda ts: ts[first]["status"] == "review")
    b.idle("ws:a", "ws:b")  # both free, and still the second waits
    assert b.tasks()[second]["status"] == "todo"
    b.ctl("task", "move", first, "done")
    tasks = b.until("the second in review", lambda ts: ts[second]["status"] == "review")
    assert tasks[second]["started"] >= tasks[first]["finished"]


def test_back_to_todo_with_a_note_returns_to_the_same_agent_note_first(
        boards: Callable[..., Board]) -> None:
    b = boards("a", "b")
    b.idle("ws:a", "ws:b")
    tid = b.add("parser", "--body", "fix the parser")
    first = b.until("it in review", lambda ts: ts[tid]["status"] == "review")[tid]
    moved = json.loads(b.ctl("task", "move", tid, "todo", "--note", "also cover the empty case",
                             "--json"))
    assert (moved["to"], moved["agent"]) == (first["agent"], None)  # its branch has the work
    again = b.until("it in review again", lambda ts: ts[tid]["status"] == "review"
                    and ts[tid]["started"] > first["finished"])[tid]
    assert again["agent"] == first["agent"] and again["note"] is None
    prompts = [json.loads(line)["message"] for line in
               _transcript(b, again["session_id"]).splitlines()]
    assert prompts[-1] == "also cover the empty case\n\nfix the parser"


def test_without_auto_a_task_waits_for_assign(boards: Callable[..., Board]) -> None:
    b = boards("a", dispatch="manual")
    b.idle("ws:a")
    tid = b.add("by hand", "--body", "by hand")
    b.idle("ws:a")
    assert b.tasks()[tid]["status"] == "todo"
    b.ctl("task", "assign", tid, "ws:a")
    tasks = b.until("it in review", lambda ts: ts[tid]["status"] == "review")
    assert tasks[tid]["agent"] == "ws:a" and "● Done: by hand" in b.screen("ws:a")


# --- time and restarts -------------------------------------------------------------------------

def test_busy_seconds_match_the_turn_length(boards: Callable[..., Board]) -> None:
    b = boards("a")
    b.idle("ws:a")
    # a subagent's Stop mid-turn (its payload has agent_id) does not end the task
    tid = b.add("slow", "--body", "slow work subagent sleep:2 sleep:1.5")
    task = b.until("it in review", lambda ts: ts[tid]["status"] == "review")[tid]
    [(start, end)] = [tuple(map(float, line.split()))
                      for line in b.turns.read_text().splitlines()]
    assert end - start >= 3.5
    assert abs(task["busy_seconds"] - (end - start)) < 1.0, (task, end - start)
    assert task["waiting_seconds"] == 0
    report = json.loads(b.ctl("report", "--json"))
    assert [(t["id"], t["agent"], t["busy"]) for t in report["tasks"]] == [
        (tid, "ws:a", task["busy_seconds"])]
    assert [(a["id"], a["finished"]) for a in report["task_agents"]] == [("ws:a", 1)]
    assert "TASKS FINISHED" in b.ctl("report")


def test_a_daemon_killed_mid_task_comes_back_with_the_same_board(
        boards: Callable[..., Board]) -> None:
    b = boards("a", "b")
    b.idle("ws:a", "ws:b")
    slow = b.add("slow", "--body", "slow sleep:8")
    other = b.add("held", "--body", "later", "--after", slow)
    b.until("the slow one doing", lambda ts: ts[slow]["status"] == "doing"
            and ts[slow]["session_id"] is not None)
    before = b.tasks()
    b.d.kill()
    b.d.start()
    after = b.tasks()
    keys = ("status", "agent", "started", "session_id", "after", "branch", "base_commit")
    assert {t: [after[t][k] for k in keys] for t in after} == \
        {t: [before[t][k] for k in keys] for t in before}
    tasks = b.until("the slow one in review", lambda ts: ts[slow]["status"] == "review")
    assert tasks[other]["status"] == "todo"
    assert 7.0 < tasks[slow]["busy_seconds"] < 10.0, tasks[slow]


def test_a_failed_turn_stays_in_doing_and_a_stopped_agent_gives_its_task_back(
        boards: Callable[..., Board]) -> None:
    b = boards("a")
    b.idle("ws:a")
    tid = b.add("fails", "--body", "try autherror")
    task = b.until("the failure on the task", lambda ts: ts[tid]["reason"] is not None)[tid]
    assert task["status"] == "doing"
    assert task["reason"].startswith("its turn failed: authentication_failed: Not logged in"), task
    b.ctl("stop", "ws:a")
    task = b.until("it back in todo", lambda ts: ts[tid]["status"] == "todo")[tid]
    assert task["agent"] is None and "ws:a ended (STOPPED) before finishing it" in \
        task["reason"]


def test_a_prompt_the_agent_does_not_take_puts_the_task_back_held_for_a_while(
        boards: Callable[..., Board]) -> None:
    b = boards("a", deaf=True)
    b.idle("ws:a")
    tid = b.add("unheard", "--body", "hello")
    task = b.until("it back in todo", lambda ts: ts[tid]["reason"] is not None
                   and ts[tid]["status"] == "todo")[tid]
    assert task["reason"].startswith("ws:a did not take the prompt: typed but not submitted")
    assert task["not_before"] == pytest.approx(task["updated"] + 30.0)
    started = [e for e in b.task_events() if e["change"] == "started"]
    assert len(started) == 1  # not typed again at once


def test_an_agent_restarted_mid_task_keeps_it_and_its_conversation(
        boards: Callable[..., Board]) -> None:
    """The stand-in crashes mid-turn; the restart resumes the session that has the task, so
    the task is not sent again; the next turn of that session finishes it."""
    b = boards("a")
    b.idle("ws:a")
    tid = b.add("crashes", "--body", "work crash")
    task = b.until("it delivered", lambda ts: ts[tid]["session_id"] is not None)[tid]
    retry_until(lambda: b.d.process("ws:a")["restarts"] >= 1, 30, 0.05, "a restart")
    b.idle("ws:a")
    again = b.tasks()[tid]
    assert (again["status"], again["session_id"]) == ("doing", task["session_id"])
    assert b.d.process("ws:a")["session_id"] == task["session_id"]
    assert _transcript(b, task["session_id"]).count("work crash") == 1  # not sent again
    b.ctl("send", "ws:a", "go on")
    done = b.until("it in review", lambda ts: ts[tid]["status"] == "review")[tid]
    assert done["session_id"] == task["session_id"]


def test_a_task_whose_session_was_lost_is_sent_again(boards: Callable[..., Board]) -> None:
    b = boards("a")
    b.idle("ws:a")
    tid = b.add("long", "--body", "long sleep:4")
    task = b.until("it delivered", lambda ts: ts[tid]["session_id"] is not None)[tid]
    shutil.rmtree(b.root / "claude-config")  # Claude Code's files are gone: no resume
    os.kill(b.d.process("ws:a")["pid"], signal.SIGKILL)
    done = b.until("it in review", lambda ts: ts[tid]["status"] == "review", timeout=90)[tid]
    assert done["session_id"] not in (None, task["session_id"])
    assert done["session_id"] == b.d.process("ws:a")["session_id"]
    assert "long sleep:4" in _transcript(b, done["session_id"])


# --- review and merge --------------------------------------------------------------------------

def test_task_merge_merges_a_branch_and_refuses_a_conflicting_one_untouched(
        boards: Callable[..., Board]) -> None:
    b = boards("a", "b")
    b.idle("ws:a", "ws:b")
    one = b.add("one", "--body", "write commit:notes.txt", "--to", "ws:a")
    two = b.add("two", "--body", "write commit:notes.txt", "--to", "ws:b")
    tasks = b.until("both in review", _all("review"))
    assert tasks[one]["branch"] == "wezparallel/ws/a" and tasks[one]["base_commit"]
    diff = b.ctl("task", "diff", one)
    assert "+++ b/notes.txt" in diff and f"+edit by {tasks[one]['session_id']}" in diff

    merged = json.loads(b.ctl("task", "merge", one, "--json"))
    assert merged["task"]["status"] == "done"
    assert git(b.repo, "rev-parse", "HEAD") == merged["merged"]
    assert (b.repo / "notes.txt").read_text() == f"edit by {tasks[one]['session_id']}\n"

    head, branch_two = git(b.repo, "rev-parse", "HEAD"), git(b.repo, "rev-parse",
                                                             "wezparallel/ws/b")
    out = b.d.ctl("task", "merge", two)
    assert out.returncode == 1
    assert "would conflict in notes.txt; nothing was changed" in out.stderr, out.stderr
    assert git(b.repo, "rev-parse", "HEAD") == head
    assert git(b.repo, "rev-parse", "wezparallel/ws/b") == branch_two
    assert git(b.repo, "status", "--porcelain") == ""
    assert b.tasks()[two]["status"] == "review"

    (b.repo / "README").write_text("changed\n")  # a dirty target is refused too
    out = b.d.ctl("task", "merge", two)
    assert out.returncode == 1 and "has uncommitted changes (README)" in out.stderr
    assert git(b.repo, "rev-parse", "HEAD") == head


def test_bad_requests_are_located_errors(boards: Callable[..., Board]) -> None:
    b = boards("a")
    for args, message in [
            (("task", "show", "t9"), "wezparctl: no task t9"),
            (("task", "add", "x", "--to", "ws:nope"), "ws:nope is not a claude agent"),
            (("task", "add", "x", "--workspace", "other"), "no workspace 'other'"),
            (("task", "add", "x", "--after", "t42"), "no task t42"),
            (("task", "move", "t1", "review"), "no task t1"),
            (("task", "assign", "t1", "ws:a"), "no task t1")]:
        out = b.d.ctl(*args)
        assert out.returncode == 1 and message in out.stderr, (args, out.stderr)
        assert "Traceback" not in out.stderr
    tid = b.add("x")
    for args, message in [
            (("task", "edit", tid, "--to", "ws:zz"), "ws:zz is not a claude agent"),
            (("task", "move", tid, "todo"), None),  # a no-op move is fine
            (("task", "move", tid, "cancelled"), None),
            (("task", "move", tid, "done"), f"{tid} is cancelled: it can move to todo, not done"),
            (("task", "assign", tid, "ws:a"), f"{tid} is cancelled; only a todo task")]:
        out = b.d.ctl(*args)
        assert (out.returncode, message is None or message in out.stderr) == (
            0 if message is None else 1, True), (args, out.stderr)
    usage = b.d.ctl("task", "move", tid, "doing")  # doing is an agent's, not a person's
    assert usage.returncode == 2 and "'doing' is not one of" in usage.stderr


def test_a_board_reader_gets_the_tasks_in_the_snapshot_then_each_change(
        boards: Callable[..., Board]) -> None:
    """What the dashboard's board reads: `subscribe` with types [task]."""
    from wezparallel.ipc.client import Client

    b = boards("a", dispatch="manual")
    first = b.add("first")
    with Client(b.d.socket, timeout=30) as client:
        stream = client.stream("subscribe", {"types": ["task"]})
        snapshot = next(stream)
        assert snapshot["type"] == "snapshot"
        assert [t["id"] for t in snapshot["tasks"]] == [first]
        second = b.add("second", "--priority", "3")
        added = next(stream)
        assert (added["type"], added["change"], added["from"], added["to"]) == (
            "task", "added", None, "todo")
        assert added["task"]["id"] == second and added["task"]["priority"] == 3
        b.ctl("task", "move", first, "cancelled")
        moved = next(stream)
        assert (moved["change"], moved["from"], moved["to"], moved["task"]["id"]) == (
            "moved", "todo", "cancelled", first)


def test_a_task_whose_stop_came_while_the_daemon_was_down_reaches_review(
        boards: Callable[..., Board]) -> None:
    """The turn ends between a SIGKILL and the next start: its Stop hook finds no daemon and
    spools; the next daemon applies it, so the task moves on instead of staying in doing."""
    b = boards("a")
    b.idle("ws:a")
    tid = b.add("ends meanwhile", "--body", "work sleep:3")
    b.until("it doing, delivered", lambda ts: ts[tid]["status"] == "doing"
            and ts[tid]["session_id"] is not None)
    b.d.kill()
    spool = b.d.state / "hooks.spool"
    retry_until(lambda: spool.exists() and b'"event":"Stop"' in spool.read_bytes(), 30, 0.05,
                "the spooled Stop")
    [stop] = [e for e in map(json.loads, spool.read_bytes().splitlines())
              if e["request"]["params"]["event"] == "Stop"]
    b.d.start()
    task = b.tasks()[tid]  # applied before the daemon answered anything
    assert task["status"] == "review", task
    assert task["finished"] == stop["time"] and 2.5 < task["busy_seconds"] < 6, task
    assert b.d.process("ws:a")["activity"] == "idle"
