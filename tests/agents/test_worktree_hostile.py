"""Issue 16: hostile `worktree:` values reaching git. Git runs with argv (no shell), so spaces,
`;` and `$(...)` arrive as written or are refused by git with its reason; a value that git
would read as an option is refused by validation, located in the file, before git sees it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import git, make_repo
from wezparallel.agents.worktree import ensure_worktree
from wezparallel.errors import PermanentError
from wezparallel.spec.loader import load_conf_dir
from wezparallel.spec.model import WorktreeSpec


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path)


def test_shell_syntax_in_branch_and_path_arrives_literally_and_runs_nothing(
        repo: Path) -> None:
    pwned = repo.parent / "PWNED"
    branch = f"feat/$(touch${{IFS}}{pwned});`touch${{IFS}}{pwned}`"
    where = f"../-w 1;$(touch {pwned}) `touch {pwned}`"
    path = ensure_worktree(repo, "ws", "agent", WorktreeSpec(branch=branch, path=where))
    assert path == (repo.parent / where.removeprefix("../")).resolve()
    assert (path / "README").read_text() == "hello\n"
    assert git(path, "rev-parse", "--abbrev-ref", "HEAD") == branch
    assert not pwned.exists()
    again = ensure_worktree(repo, "ws", "agent", WorktreeSpec(branch=branch, path=where))
    assert again == path  # found again by its literal path


def test_a_branch_git_refuses_is_a_permanent_error_with_git_s_reason(repo: Path) -> None:
    for branch in ("a b", "x/../y", "a..b"):
        with pytest.raises(PermanentError, match="not a valid branch name"):
            ensure_worktree(repo, "ws", "agent", WorktreeSpec(branch=branch))
    assert git(repo, "branch", "--list") == "* main"


def test_a_base_that_looks_like_an_option_is_never_one(repo: Path) -> None:
    """Before `--`, `base: --no-checkout` made git check nothing out (and `--force` would
    have overridden git's own checks): even past validation it must fail, not change git."""
    with pytest.raises(PermanentError, match="cannot create worktree"):
        ensure_worktree(repo, "ws", "agent", WorktreeSpec(branch="b", base="--no-checkout"))
    assert not (repo / ".wezparallel" / "worktrees" / "ws" / "agent" / ".git").exists()


@pytest.mark.parametrize(("key", "value"), [
    ("branch", "-b"), ("branch", "--force"), ("base", "--no-checkout"), ("base", "-q")])
def test_validation_refuses_an_option_like_branch_or_base_where_it_is_written(
        tmp_path: Path, key: str, value: str) -> None:
    (tmp_path / "w.yaml").write_text(
        "workspace: w\nprocesses:\n  a:\n    command: x\n    worktree:\n"
        f"      {key}: '{value}'\n")
    result = load_conf_dir(tmp_path, {})
    (problem,) = result.problems
    assert (problem.file, problem.line) == (str(tmp_path / "w.yaml"), 6)
    assert problem.message == (
        f"`processes.a.worktree.{key}`: must be a non-empty string that does not start with "
        f'`-` (git would read it as an option) (got "{value}")')
    assert result.workspaces == {}
