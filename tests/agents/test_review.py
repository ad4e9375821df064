"""Review and merge of an agent's branch in a real git repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import git, make_repo
from wezparallel.agents.review import MergeRefused, diff, head_of, merge
from wezparallel.agents.worktree import ensure_worktree
from wezparallel.spec.model import WorktreeSpec


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path)


def work(path: Path, name: str, text: str) -> None:
    (path / name).write_text(text)
    git(path, "add", name)
    git(path, "commit", "-q", "-m", f"write {name}")


def test_diff_has_commits_uncommitted_and_new_files_without_touching_the_index(
        repo: Path) -> None:
    wt = ensure_worktree(repo, "ws", "a", WorktreeSpec())
    base = head_of(wt).commit
    work(wt, "done.txt", "committed\n")
    (wt / "README").write_text("hello\nedited\n")
    (wt / "new.txt").write_text("untracked\n")
    out = diff(wt, base)
    assert "+committed" in out and "+edited" in out and "+untracked" in out
    assert git(wt, "status", "--porcelain") == "M README\n?? new.txt"  # the index is untouched


def test_squash_merge_makes_one_commit_on_the_checked_out_branch(repo: Path) -> None:
    wt = ensure_worktree(repo, "ws", "a", WorktreeSpec())
    work(wt, "one.txt", "1\n")
    work(wt, "two.txt", "2\n")
    before = git(repo, "rev-parse", "HEAD")
    head = merge(repo, "wezparallel/ws/a", True, "Merge t1: two files")
    assert git(repo, "rev-parse", "HEAD^") == before  # one commit, one parent
    assert git(repo, "log", "-1", "--format=%s") == "Merge t1: two files"
    assert head == git(repo, "rev-parse", "HEAD") and (repo / "two.txt").is_file()


def test_a_conflicting_squash_is_refused_and_nothing_changes(repo: Path) -> None:
    wt = ensure_worktree(repo, "ws", "a", WorktreeSpec())
    work(wt, "README", "theirs\n")
    work(repo, "README", "ours\n")
    head, branch = git(repo, "rev-parse", "HEAD"), git(repo, "rev-parse", "wezparallel/ws/a")
    with pytest.raises(MergeRefused, match="would conflict in README; nothing was changed"):
        merge(repo, "wezparallel/ws/a", True, "x")
    assert (git(repo, "rev-parse", "HEAD"), git(repo, "rev-parse", "wezparallel/ws/a")) == (
        head, branch)
    assert git(repo, "status", "--porcelain") == "" and (repo / "README").read_text() == "ours\n"
