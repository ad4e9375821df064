from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support import git, make_repo
from wezparallel.agents.git import run_git
from wezparallel.agents.worktree import (
    ensure_worktree,
    list_worktrees,
    prune_worktrees,
    remove_worktree,
)
from wezparallel.errors import BackendError, PermanentError
from wezparallel.spec.model import WorktreeSpec


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path)


def commit(cwd: Path, name: str) -> None:
    (cwd / name).write_text(name)
    git(cwd, "add", name)
    git(cwd, "commit", "-q", "-m", name)


def test_creates_the_default_worktree_on_its_own_branch(repo: Path) -> None:
    path = ensure_worktree(repo, "ws", "agent", WorktreeSpec())
    assert path == (repo / ".wezparallel" / "worktrees" / "ws" / "agent").resolve()
    assert (path / "README").read_text() == "hello\n"
    assert git(path, "rev-parse", "--abbrev-ref", "HEAD") == "wezparallel/ws/agent"
    assert git(repo, "status", "--porcelain") == ""  # the worktrees dir is ignored


def test_reuses_it_and_keeps_its_work(repo: Path) -> None:
    first = ensure_worktree(repo, "ws", "agent", WorktreeSpec())
    (first / "notes.txt").write_text("in progress")
    again = ensure_worktree(repo, "ws", "agent", WorktreeSpec())
    assert again == first
    assert (again / "notes.txt").read_text() == "in progress"


def test_works_from_a_subdirectory_and_from_inside_another_worktree(repo: Path) -> None:
    (repo / "sub").mkdir()
    a = ensure_worktree(repo / "sub", "ws", "a", WorktreeSpec())
    b = ensure_worktree(a, "ws", "b", WorktreeSpec())
    assert b.parent == a.parent  # both under the main checkout


def test_custom_branch_base_and_path(repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD")
    commit(repo, "later")
    spec = WorktreeSpec(branch="feature/x", base=base, path="../elsewhere")
    path = ensure_worktree(repo, "ws", "agent", spec)
    assert path == (repo.parent / "elsewhere").resolve()
    assert git(path, "rev-parse", "--abbrev-ref", "HEAD") == "feature/x"
    assert git(path, "rev-parse", "HEAD") == base
    assert not (path / "later").exists()


def test_an_existing_branch_is_checked_out_not_recreated(repo: Path) -> None:
    git(repo, "branch", "wezparallel/ws/agent")
    commit(repo, "after-branch")
    path = ensure_worktree(repo, "ws", "agent", WorktreeSpec())
    assert not (path / "after-branch").exists()


def test_a_deleted_worktree_directory_is_recreated(repo: Path) -> None:
    path = ensure_worktree(repo, "ws", "agent", WorktreeSpec())
    subprocess.run(["rm", "-rf", str(path)], check=True)
    assert ensure_worktree(repo, "ws", "agent", WorktreeSpec()) == path
    assert (path / "README").exists()


def test_a_foreign_directory_in_the_way_is_refused(repo: Path) -> None:
    target = repo.parent / "taken"
    target.mkdir()
    (target / "mine.txt").write_text("keep")
    with pytest.raises(PermanentError, match="exists and is not a git worktree"):
        ensure_worktree(repo, "ws", "agent", WorktreeSpec(path="../taken"))
    assert (target / "mine.txt").read_text() == "keep"


def test_a_bad_base_is_a_clear_error(repo: Path) -> None:
    with pytest.raises(PermanentError, match=r"cannot create worktree .* on branch wezparallel/"
                                             r"ws/agent: not a valid object name: 'no-such-ref'$"):
        ensure_worktree(repo, "ws", "agent", WorktreeSpec(base="no-such-ref"))


def test_not_a_git_repository_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PermanentError, match="is not inside a git repository, so `worktree:`"):
        ensure_worktree(tmp_path, "ws", "agent", WorktreeSpec())


def test_list_shows_branch_dirty_and_ahead(repo: Path) -> None:
    clean = ensure_worktree(repo, "ws", "clean", WorktreeSpec())
    busy = ensure_worktree(repo, "ws", "busy", WorktreeSpec())
    commit(busy, "one")
    commit(busy, "two")
    (busy / "wip.txt").write_text("uncommitted")
    (busy / "README").write_text("changed\n")
    entries = {Path(e.path): e for e in list_worktrees(repo)}
    main = entries[repo.resolve()]
    assert (main.main, main.branch, main.dirty) == (True, "main", False)
    assert (entries[clean].branch, entries[clean].dirty, entries[clean].ahead) == (
        "wezparallel/ws/clean", False, 0)
    assert (entries[busy].dirty, entries[busy].changes, entries[busy].ahead) == (True, 2, 2)


def test_remove_refuses_a_dirty_worktree_without_force(repo: Path) -> None:
    path = ensure_worktree(repo, "ws", "agent", WorktreeSpec())
    (path / "wip.txt").write_text("precious")
    with pytest.raises(PermanentError, match=r"has uncommitted changes \(1 file\); commit or "
                                             r"stash them, or remove it with --force"):
        remove_worktree(path)
    assert (path / "wip.txt").read_text() == "precious"
    removed = remove_worktree(path, force=True)
    assert removed.branch == "wezparallel/ws/agent" and not path.exists()
    assert git(repo, "branch", "--list", "wezparallel/ws/agent")  # the branch is kept


def test_remove_a_clean_worktree_keeps_its_commits(repo: Path) -> None:
    path = ensure_worktree(repo, "ws", "agent", WorktreeSpec())
    commit(path, "work")
    remove_worktree(path)
    assert not path.exists()
    assert git(repo, "log", "--format=%s", "-1", "wezparallel/ws/agent") == "work"


def test_remove_refuses_the_main_checkout_and_strangers(repo: Path, tmp_path: Path) -> None:
    with pytest.raises(PermanentError, match="main checkout"):
        remove_worktree(repo)
    with pytest.raises(PermanentError, match="no worktree at"):
        remove_worktree(tmp_path / "nothing")


def test_git_failures_carry_gits_message(repo: Path) -> None:
    with pytest.raises(BackendError, match=r"git exited 129: .*unknown option") as info:
        run_git(["status", "--no-such-option"], repo)
    assert info.value.argv == ("git", "status", "--no-such-option")
    assert run_git(["status", "--no-such-option"], repo, check=False).returncode != 0


def test_prune_removes_clean_worktrees_of_agents_no_longer_configured(repo: Path) -> None:
    gone = ensure_worktree(repo, "ws", "gone", WorktreeSpec())
    dirty = ensure_worktree(repo, "ws", "dirty", WorktreeSpec())
    kept = ensure_worktree(repo, "ws", "kept", WorktreeSpec())
    custom = ensure_worktree(repo, "ws", "own", WorktreeSpec(path="elsewhere"))
    (dirty / "wip.txt").write_text("work in progress\n")
    dry = prune_worktrees([str(repo)], {("ws", "kept")}, dry_run=True)
    assert [r["path"] for r in dry["removed"]] == [str(gone)] and gone.is_dir()
    result = prune_worktrees([str(repo)], {("ws", "kept")})
    assert [(r["path"], r["branch"]) for r in result["removed"]] == [
        (str(gone), "wezparallel/ws/gone")]
    assert [(r["path"], r["reason"]) for r in result["kept"]] == [
        (str(dirty), "uncommitted changes")]
    assert not gone.exists() and dirty.is_dir() and kept.is_dir() and custom.is_dir()
    assert git(repo, "branch", "--list", "wezparallel/ws/gone")  # its branch stays
