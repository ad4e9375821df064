"""The task board in Debian's chromium under Playwright, against a real daemon: a task added
in the page is on the daemon's board (the CLI lists it), a card dragged to another column (or
moved from its select, by keyboard) is moved there for the CLI too, and a move made with the
CLI shows in the page without a reload. Most tests have no agent (tasks wait in todo and
people move them); one runs the Claude stand-in in a worktree for the doing card's activity,
the review card's diff and its merge button."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.support import DaemonProcess, make_repo, retry_until
from tests.web.kit import (
    DASHBOARD,
    conf,
    sleeper,
    start_dashboard,
    stop_with_its_tmux,
    worktree_agent,
)

Factory = Callable[..., DaemonProcess]
PageFor = Callable[..., Any]


def _tasks(d: DaemonProcess) -> dict[str, dict[str, Any]]:
    out = d.ctl("task", "list", "--json")
    assert out.returncode == 0, out.stderr
    return {t["id"]: t for t in json.loads(out.stdout)}


def _board(daemon_factory: Factory, page_for: PageFor) -> tuple[DaemonProcess, Any]:
    d, _ = start_dashboard(daemon_factory, {"ws.yaml": conf({"a": sleeper()})})
    page = page_for(d)
    page.click('#tabs button[data-tab="tasks"]')
    page.wait_for_selector("#board .column[data-status=todo]", state="visible")
    return d, page


def _column_of(page: Any, tid: str) -> str | None:
    return page.evaluate(
        "id => document.querySelector(`#board .card[data-id=\"${id}\"]`)"
        "?.closest('.column')?.dataset.status ?? null", tid)


def _wait_column(page: Any, tid: str, status: str) -> None:
    retry_until(lambda: _column_of(page, tid) == status, 10, 0.05, f"{tid} in {status}")


def test_a_task_added_in_the_page_is_on_the_board_for_the_cli(
        daemon_factory: Factory, page_for: PageFor) -> None:
    d, page = _board(daemon_factory, page_for)
    page.fill("#task-form input[name=title]", "Write the release notes")
    page.fill("#task-form textarea[name=body]", "Summarise the CHANGELOG for 1.0")
    page.fill("#task-form input[name=priority]", "3")
    page.click("#task-form button[type=submit]")
    task = retry_until(lambda: next(iter(_tasks(d).values()), None), 10, 0.05, "the new task")
    assert (task["title"], task["body"], task["priority"], task["status"], task["workspace"]) == (
        "Write the release notes", "Summarise the CHANGELOG for 1.0", 3, "todo", "ws")
    _wait_column(page, task["id"], "todo")
    card = page.inner_text(f'#board .card[data-id="{task["id"]}"]')
    assert "Write the release notes" in card and "priority 3" in card
    assert page.input_value("#task-form input[name=title]") == ""  # ready for the next one


def test_an_empty_title_is_refused_by_the_daemon_with_its_message(
        daemon_factory: Factory, page_for: PageFor) -> None:
    d, page = _board(daemon_factory, page_for)
    page.fill("#task-form input[name=title]", "   ")  # passes `required`; the daemon refuses
    page.click("#task-form button[type=submit]")
    page.wait_for_selector('.toast.error:has-text("a task needs a title")')
    assert _tasks(d) == {}


def test_dragging_a_card_to_another_column_moves_the_task(
        daemon_factory: Factory, page_for: PageFor) -> None:
    d, page = _board(daemon_factory, page_for)
    tid = json.loads(d.ctl("task", "add", "Fix the login bug", "--json").stdout)["id"]
    _wait_column(page, tid, "todo")
    page.locator(f'#board .card[data-id="{tid}"]').drag_to(
        page.locator("#board .column[data-status=review]"))
    retry_until(lambda: _tasks(d)[tid]["status"] == "review", 10, 0.05, "review for the CLI")
    _wait_column(page, tid, "review")
    page.locator(f'#board .card[data-id="{tid}"]').drag_to(
        page.locator("#board .column[data-status=doing]"))  # only an agent takes a task
    page.wait_for_selector('.toast.error:has-text("assign it to an agent")')
    assert _tasks(d)[tid]["status"] == "review"
    _wait_column(page, tid, "review")


def test_a_review_card_goes_back_to_todo_with_a_note_from_the_keyboard(
        daemon_factory: Factory, page_for: PageFor) -> None:
    d, page = _board(daemon_factory, page_for)
    tid = json.loads(d.ctl("task", "add", "Add a --dry-run flag", "--json").stdout)["id"]
    _wait_column(page, tid, "todo")
    page.focus(f'select[aria-label="move {tid} to"]')
    page.select_option(f'select[aria-label="move {tid} to"]', "review")
    retry_until(lambda: _tasks(d)[tid]["status"] == "review", 10, 0.05, "moved by the select")
    _wait_column(page, tid, "review")
    page.fill(f'input[aria-label="note for {tid}"]', "also document it in the README")
    page.focus(f'button[aria-label="send {tid} back to todo with the note"]')
    page.keyboard.press("Enter")
    task = retry_until(lambda: (lambda t: t if t["status"] == "todo" else None)(_tasks(d)[tid]),
                       10, 0.05, "back in todo")
    assert task["note"] == "also document it in the README"
    _wait_column(page, tid, "todo")
    assert "note: also document it in the README" in page.inner_text(
        f'#board .card[data-id="{tid}"]')


def test_a_move_made_with_the_cli_shows_in_the_page_without_a_reload(
        daemon_factory: Factory, page_for: PageFor) -> None:
    d, page = _board(daemon_factory, page_for)
    page.evaluate("window.__unreloaded = true")
    tid = json.loads(d.ctl("task", "add", "Bump the version", "--json").stdout)["id"]
    _wait_column(page, tid, "todo")
    for status in ("review", "done", "todo"):
        out = d.ctl("task", "move", tid, status)
        assert out.returncode == 0, out.stderr
        _wait_column(page, tid, status)
    out = d.ctl("task", "cancel", tid)
    assert out.returncode == 0, out.stderr
    retry_until(lambda: _column_of(page, tid) is None, 10, 0.05, "a cancelled card leaves")
    assert "1 cancelled" in page.inner_text("#cancelled")
    assert page.evaluate("window.__unreloaded === true"), "the page was reloaded"


def test_an_agents_card_shows_its_activity_then_its_diff_in_review_and_merges(
        daemon_factory: Factory, page_for: PageFor, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("WEZTERM_PANE", "WEZTERM_UNIX_SOCKET", "TMUX", "TMUX_PANE", "DISPLAY"):
        monkeypatch.delenv(var, raising=False)
    d = daemon_factory(backend="tmux", extra=DASHBOARD)
    try:
        repo = make_repo(d.root)
        agent = worktree_agent(d, repo)
        (d.conf / "ws.yaml").write_text(conf({"a": agent}, backend="tmux") +
                                        "dispatch: auto\n")
        d.start()
        assert d.ctl("wait", "ws:a", "--until", "idle", "--timeout", "60").returncode == 0
        page = page_for(d)
        page.click('#tabs button[data-tab="tasks"]')
        out = d.ctl("task", "add", "Write the notes", "--body", "sleep:3 commit:notes.txt",
                    "--json")
        tid = json.loads(out.stdout)["id"]
        _wait_column(page, tid, "doing")
        card = f'#board .card[data-id="{tid}"]'
        retry_until(lambda: "on ws:a · busy" in page.inner_text(f"{card} .agent"), 10, 0.05,
                    "the agent and its activity on the card")
        _wait_column(page, tid, "review")
        task = _tasks(d)[tid]
        assert page.inner_text(f"{card} .agent") == "by ws:a"
        assert f"busy {int(task['busy_seconds'])}s" in page.inner_text(f"{card} .time")
        page.click(f'{card} button[data-action="diff"]')
        diff = page.wait_for_selector('#diff-text:has-text("+++ b/notes.txt")')
        assert f"+edit by {task['session_id']}" in diff.inner_text()
        page.keyboard.press("Escape")
        page.wait_for_selector("#diff-dialog", state="hidden")
        page.click(f'{card} button[data-action="merge"]')
        retry_until(lambda: _tasks(d)[tid]["status"] == "done", 30, 0.1, "merged: done")
        _wait_column(page, tid, "done")
        assert (repo / "notes.txt").read_text() == f"edit by {task['session_id']}\n"
    finally:
        stop_with_its_tmux(d)


def test_the_filter_box_narrows_the_cards(daemon_factory: Factory, page_for: PageFor) -> None:
    d, page = _board(daemon_factory, page_for)
    ids = [json.loads(d.ctl("task", "add", title, "--json").stdout)["id"]
           for title in ("Fix the parser", "Write the docs", "Fix the login")]
    for tid in ids:
        _wait_column(page, tid, "todo")
    page.fill("#filter", "fix the")
    cards = "els => els.map(e => e.dataset.id)"
    retry_until(lambda: sorted(page.eval_on_selector_all("#board .card", cards)) ==
                [ids[0], ids[2]], 5, 0.05, "only the two fixes")
