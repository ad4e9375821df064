"""The one place that runs `git`.

Failures are translated here, at the boundary: git missing becomes ProgramNotFound, a non-zero
exit a BackendError carrying git's own message, so callers above never see subprocess errors.
"""

from __future__ import annotations

import logging
import os
import subprocess
from dataclasses import dataclass

from wezparallel.errors import BackendError, ProgramNotFound, TemporaryError

log = logging.getLogger(__name__)
GIT_TIMEOUT = 30.0  # seconds; `git worktree add` checks out a whole tree


@dataclass(frozen=True)
class GitResult:
    returncode: int
    stdout: str
    stderr: str


def run_git(args: list[str] | tuple[str, ...], cwd: str | os.PathLike[str], *,
            check: bool = True, timeout: float = GIT_TIMEOUT) -> GitResult:
    """Run `git ARGS` in `cwd`; with `check`, a non-zero exit raises BackendError.

    Prompts are disabled (a credential prompt would hang the daemon) and the output is in
    English (LC_ALL=C) so that messages can be matched and pinned.
    """
    argv = ["git", *args]
    log.debug("run %s (cwd %s)", argv, cwd)
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    if not os.path.isdir(cwd):
        raise BackendError("git", argv, 128, f"no such directory: {cwd}")
    try:
        proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=timeout, check=False)
    except FileNotFoundError as exc:
        raise ProgramNotFound("git", "install it with your package manager") from exc
    except subprocess.TimeoutExpired as exc:
        raise TemporaryError(f"git {' '.join(args)} timed out after {timeout:g}s") from exc
    result = GitResult(proc.returncode, proc.stdout, proc.stderr)
    if check and proc.returncode != 0:
        raise BackendError("git", argv, proc.returncode, proc.stderr)
    return result
