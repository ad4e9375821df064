"""A git worktree per agent, so agents working on the same repository do not trip over each other.

Nothing with uncommitted work is ever deleted: `remove_worktree` refuses a dirty worktree
without `force`, and the agent's branch is always kept (its commits live on in the repository).
Worktrees go under the main checkout (not under whichever linked worktree the agent's cwd is
in), in `.wezparallel/worktrees/`, which gets a `.gitignore` of `*` so they do not show up as
untracked files in the main checkout.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from wezparallel.agents.git import run_git
from wezparallel.errors import BackendError, PermanentError
from wezparallel.spec.model import WorktreeSpec

WORKTREES_DIR = Path(".wezparallel") / "worktrees"


@dataclass(frozen=True)
class WorktreeEntry:
    path: str
    branch: str | None  # short name; None when the HEAD is detached
    head: str | None  # commit id
    main: bool  # the main checkout, never removed
    changes: int = 0  # files with uncommitted changes, untracked ones included
    ahead: int = 0  # commits on it that the main checkout's HEAD does not have

    @property
    def dirty(self) -> bool:
        return self.changes > 0


def default_branch(workspace: str, name: str) -> str:
    return f"wezparallel/{workspace}/{name}"


def main_checkout(cwd: str | os.PathLike[str]) -> Path:
    """The main worktree of the repository `cwd` is in; a clear error when there is none."""
    result = run_git(["worktree", "list", "--porcelain"], cwd, check=False)
    if result.returncode != 0:
        raise PermanentError(
            f"{cwd} is not inside a git repository, so `worktree:` cannot be used for it "
            f"(git: {result.stderr.strip() or 'failed'}); run `git init` there or remove "
            "`worktree:` from the process"
        )
    entries = _parse_porcelain(result.stdout)
    if not entries or not entries[0].main:
        raise PermanentError(f"{cwd} is in a bare git repository; `worktree:` needs a checkout")
    return Path(entries[0].path)


def worktree_path(root: Path, workspace: str, name: str, spec: WorktreeSpec) -> Path:
    if spec.path:
        return (root / spec.path).resolve()
    return (root / WORKTREES_DIR / workspace / name).resolve()


def ensure_worktree(repo_cwd: str | os.PathLike[str], workspace: str, name: str,
                    spec: WorktreeSpec) -> Path:
    """The agent's worktree, created on first use (new branch from `base`, default HEAD)."""
    root = main_checkout(repo_cwd)
    path = worktree_path(root, workspace, name, spec)
    run_git(["worktree", "prune"], root)  # forget worktrees whose directory was deleted
    if any(Path(e.path).resolve() == path for e in _entries(root)):
        return path
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise PermanentError(
            f"{path} exists and is not a git worktree of {root}; move it away or set "
            "`worktree.path` to another directory"
        )
    if not spec.path:
        _ignore_worktrees_dir(root)
    branch = spec.branch or default_branch(workspace, name)
    has_branch = run_git(["rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"], root,
                         check=False).returncode == 0
    # `--`: nothing after it is an option. A branch or base starting with `-` is refused by
    # the schema: `worktree add -b` hands both on to `git branch`, where `--` cannot reach.
    args = (["worktree", "add", "--", str(path), branch] if has_branch
            else ["worktree", "add", "-b", branch, "--", str(path), spec.base or "HEAD"])
    try:
        run_git(args, root)
    except BackendError as exc:
        raise PermanentError(f"cannot create worktree {path} on branch {branch}: "
                             f"{_git_reason(exc)}") from exc
    return path


def _git_reason(exc: BackendError) -> str:
    """git's own complaint without its progress chatter ("Preparing worktree ...")."""
    lines = exc.stderr.splitlines()
    for line in reversed(lines):
        for prefix in ("fatal: ", "error: "):
            if line.startswith(prefix):
                return line.removeprefix(prefix)
    return lines[-1] if lines else str(exc)


def _ignore_worktrees_dir(root: Path) -> None:
    top = root / WORKTREES_DIR.parts[0]
    top.mkdir(exist_ok=True)
    ignore = top / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# wezparallel: agents' worktrees and state, never committed\n*\n")


def list_worktrees(repo: str | os.PathLike[str], base: str | None = None
                   ) -> tuple[WorktreeEntry, ...]:
    """Every worktree of the repository, with dirty and ahead counts.

    `ahead` counts commits not in `base` (default: the main checkout's HEAD), i.e. the work
    that is only on that worktree's branch.
    """
    root = main_checkout(repo)
    entries = _entries(root)
    base = base or entries[0].head
    out = []
    for e in entries:
        if not Path(e.path).is_dir():
            out.append(e)
            continue
        ahead = 0
        if base and e.head and not e.main:
            count = run_git(["rev-list", "--count", f"{base}..{e.head}"], root).stdout
            ahead = int(count.strip() or 0)
        out.append(WorktreeEntry(e.path, e.branch, e.head, e.main, _changes(e.path), ahead))
    return tuple(out)


def remove_worktree(path: str | os.PathLike[str], force: bool = False) -> WorktreeEntry:
    """Remove a linked worktree (its branch stays); refuses a dirty one unless `force`."""
    target = Path(path).resolve()
    if not target.is_dir():
        raise PermanentError(f"no worktree at {target}")
    root = main_checkout(target)
    entry = next((e for e in _entries(root) if Path(e.path).resolve() == target), None)
    if entry is None:
        raise PermanentError(f"{target} is not a worktree of {root}")
    if entry.main:
        raise PermanentError(f"{target} is the main checkout of the repository; not removing it")
    changes = _changes(target)
    if changes and not force:
        raise PermanentError(
            f"worktree {target} has uncommitted changes ({changes} file"
            f"{'s' if changes != 1 else ''}); commit or stash them, or remove it with --force"
        )
    run_git(["worktree", "remove", *(["--force"] if force else []), str(target)], root)
    return WorktreeEntry(str(target), entry.branch, entry.head, False, changes, 0)


def _changes(path: str | os.PathLike[str]) -> int:
    out = run_git(["status", "--porcelain", "--untracked-files=all"], path).stdout
    return len([line for line in out.splitlines() if line.strip()])


def _entries(root: Path) -> list[WorktreeEntry]:
    return _parse_porcelain(run_git(["worktree", "list", "--porcelain"], root).stdout)


def _parse_porcelain(text: str) -> list[WorktreeEntry]:
    """`git worktree list --porcelain`: blank-line separated blocks of `key value` lines."""
    entries: list[WorktreeEntry] = []
    for i, block in enumerate(text.strip().split("\n\n")):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            key, _, value = line.partition(" ")
            fields[key] = value
        if "worktree" not in fields or "bare" in fields:
            continue
        branch = fields.get("branch")
        entries.append(WorktreeEntry(
            path=fields["worktree"],
            branch=branch.removeprefix("refs/heads/") if branch else None,
            head=fields.get("HEAD"),
            main=i == 0,
        ))
    return entries


def prune_worktrees(repos: list[str], keep: set[tuple[str, str]],
                    dry_run: bool = False) -> dict[str, list[dict[str, object]]]:
    """Remove the worktrees wezparallel made (under `.wezparallel/worktrees/WS/NAME`) whose
    agent (WS, NAME) is no longer configured; a dirty one is kept and listed. Branches stay."""
    removed: list[dict[str, object]] = []
    kept: list[dict[str, object]] = []
    for root in dict.fromkeys(main_checkout(r) for r in repos):
        run_git(["worktree", "prune"], root)
        base = (root / WORKTREES_DIR).resolve()
        for e in _entries(root):
            path = Path(e.path).resolve()
            if e.main or path.parent.parent != base or (path.parent.name, path.name) in keep:
                continue
            row: dict[str, object] = {"path": str(path), "branch": e.branch,
                                      "changes": _changes(path)}
            if row["changes"]:
                kept.append(row | {"reason": "uncommitted changes"})
                continue
            if not dry_run:
                run_git(["worktree", "remove", str(path)], root)
            removed.append(row)
    return {"removed": removed, "kept": kept}
