"""Makes docs/board.png: the Tasks tab with cards in every column.

    .venv/bin/python -m tests.web.board_screenshot [docs/board.png]

A real daemon, two Claude stand-in agents in worktrees of a real git repository (tmux panes),
`dispatch: auto`: their tasks really go through doing to review (with diffs and times), two
are merged (done), one agent is at a long tool call (busy) and the other waits for an answer,
and three tasks wait in todo. Not a test: it only draws the picture.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from tests.support import DaemonProcess, make_repo, retry_until
from tests.web.kit import conf, shoot, stop_with_its_tmux, worktree_agent

ROOT = Path(__file__).resolve().parents[2]


def _ctl(d: DaemonProcess, *args: str) -> str:
    out = d.ctl(*args, timeout=90)
    assert out.returncode == 0, out.stderr
    return out.stdout


def _add(d: DaemonProcess, title: str, *args: str) -> str:
    return str(json.loads(_ctl(d, "task", "add", title, "--json", *args))["id"])


def _status(d: DaemonProcess, tid: str, status: str) -> None:
    retry_until(lambda: json.loads(_ctl(d, "task", "show", tid, "--json"))["status"] == status,
                120, 0.2, f"{tid} {status}")


def _work(d: DaemonProcess) -> None:
    for pid in ("ws:coder", "ws:docs"):
        _ctl(d, "wait", pid, "--until", "idle", "--timeout", "60")
    done = [_add(d, "Add a --dry-run flag to deploy", "--to", "ws:coder", "--body",
                 "tool sleep:3 commit:dry_run.txt"),
            _add(d, "Document the config schema", "--to", "ws:docs", "--body",
                 "sleep:2 tool commit:schema.md")]
    for tid in done:
        _status(d, tid, "review")
        _ctl(d, "task", "merge", tid)
    review = [_add(d, "Fix the login redirect loop", "--to", "ws:coder", "--body",
                   "tool sleep:4 commit:login.txt"),
              _add(d, "Write the 1.0 release notes", "--to", "ws:docs", "--body",
                   "sleep:2 commit:NOTES.md")]
    for tid in review:
        _status(d, tid, "review")
    doing = [_add(d, "Speed up the test suite", "--to", "ws:coder", "--body", "tool sleep:600"),
             _add(d, "Remove the legacy API", "--to", "ws:docs", "--body", "tool ask")]
    for tid in doing:
        _status(d, tid, "doing")
    for title, prio in (("Upgrade aiohttp", "1"), ("Add a dark-mode toggle to the docs", "0"),
                        ("Flaky test: test_reload_storm", "2")):
        _add(d, title, "-p", prio, "--to", "ws:coder")


def main(out: Path) -> None:
    for var in ("TMUX", "TMUX_PANE", "WEZTERM_PANE", "WEZTERM_UNIX_SOCKET", "DISPLAY"):
        os.environ.pop(var, None)
    d = DaemonProcess(backend="tmux", extra=("--dashboard", "127.0.0.1:0"))
    repo = make_repo(d.root)
    agent = worktree_agent(d, repo)
    (d.conf / "ws.yaml").write_text(conf({"coder": agent, "docs": agent}, backend="tmux")
                                    + "dispatch: auto\n")
    try:
        d.start()
        _work(d)
        shoot(d, out, 760, _open_the_tasks_tab)
    finally:
        stop_with_its_tmux(d)
        d.cleanup()


def _open_the_tasks_tab(page: Any) -> None:
    page.click('#tabs button[data-tab="tasks"]')
    page.wait_for_timeout(3000)

if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "board.png")
