"""Reviewing and merging what an agent did on its worktree's branch.

All git goes through `agents.git.run_git`. A merge changes nothing unless it can succeed: the
target checkout must be clean and `git merge-tree` (which computes the merge without touching
any tree or ref) must report no conflict; only then does the real merge run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from wezparallel.agents.git import run_git
from wezparallel.agents.worktree import main_checkout, worktree_path
from wezparallel.errors import PermanentError
from wezparallel.spec.model import ProcessSpec


class MergeRefused(PermanentError):
    """The merge would not be clean; nothing was changed."""


@dataclass(frozen=True)
class Checkout:
    path: Path
    branch: str | None
    commit: str


def agent_checkout(spec: ProcessSpec) -> Checkout | None:
    """The agent's worktree, its branch and HEAD; None for an agent without `worktree:` or
    whose worktree does not exist (yet)."""
    if spec.worktree is None:
        return None
    root = main_checkout(spec.cwd)
    path = worktree_path(root, spec.workspace, spec.name, spec.worktree)
    if not path.is_dir():
        return None
    return head_of(path)


def head_of(path: str | os.PathLike[str]) -> Checkout:
    commit = run_git(["rev-parse", "HEAD"], path).stdout.strip()
    branch = run_git(["rev-parse", "--abbrev-ref", "HEAD"], path).stdout.strip()
    return Checkout(Path(path), None if branch == "HEAD" else branch, commit)


def diff(worktree: str | os.PathLike[str], base: str) -> str:
    """The task's commits and the uncommitted changes (new files too) against `base`,
    without touching the worktree or its index."""
    out = run_git(["diff", base], worktree).stdout
    untracked = run_git(["ls-files", "--others", "--exclude-standard", "-z"], worktree).stdout
    for name in filter(None, untracked.split("\0")):
        out += run_git(["diff", "--no-index", "--", "/dev/null", name], worktree,
                       check=False).stdout
    return out


def merge(repo: str | os.PathLike[str], branch: str, squash: bool, message: str) -> str:
    """Merge `branch` into what the repository's main checkout has checked out; the new
    HEAD. Refuses (MergeRefused, nothing changed) a dirty target or a conflicting merge."""
    root = main_checkout(repo)
    target = head_of(root)
    dirty = run_git(["status", "--porcelain", "--untracked-files=no"], root).stdout
    if dirty.strip():
        files = ", ".join(line[3:] for line in dirty.splitlines()[:5])
        raise MergeRefused(f"{root} has uncommitted changes ({files}); commit or stash "
                           f"them before merging {branch}")
    probe = run_git(["merge-tree", "--write-tree", "--name-only", "--no-messages",
                     target.commit, branch], root, check=False)
    if probe.returncode == 1:
        clashes = [f for f in probe.stdout.splitlines()[1:] if f.strip()]
        raise MergeRefused(f"merging {branch} into {target.branch or target.commit[:12]} "
                           f"would conflict in {', '.join(clashes) or 'some files'}; nothing "
                           "was changed (merge or rebase it by hand)")
    if probe.returncode != 0:
        raise MergeRefused(f"cannot merge {branch}: {probe.stderr.strip()}")
    if squash:
        run_git(["merge", "--squash", branch], root)
        run_git(["commit", "--no-verify", "-m", message], root)
    else:
        run_git(["merge", "--no-ff", "--no-edit", "-m", message, branch], root)
    return head_of(root).commit
