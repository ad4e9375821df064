"""What a process actually runs: the last step between a spec and a backend's spawn.

For most processes that is `spec.command` as it is. An agent (`claude:`) needs effects first,
and they belong here rather than in the supervisor or the pure argv builder:

- its git worktree, created on first use (`worktree:`), whose path replaces the cwd the
  backend sees; the spec the supervisor keeps is untouched, so reload diffs stay exact;
- its hooks `--settings` file pointing at this daemon's socket;
- whether `resume: auto` has a conversation to continue: a marker file per agent in the state
  dir records the cwd of a session that got a first prompt (or, for an agent without hooks, of
  a spawn that succeeded), because `claude --continue` picks the latest conversation *of
  that cwd* and fails where there is none.

Every failure is a SpawnError naming the process: retrying cannot create a git repository or
install Claude Code, so the supervisor makes the process FATAL instead of crash-looping.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from wezparallel.backends.base import Handle
from wezparallel.errors import BackendError, PermanentError, SpawnError
from wezparallel.paths import ensure_private_dir
from wezparallel.plan.lifecycle import ExitInfo
from wezparallel.spec.model import ProcessSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Launch:
    """One start of one process: the argv, and the spec as the backend must see it."""

    argv: tuple[str, ...]
    spec: ProcessSpec  # cwd is the worktree when the process has one
    agent: bool = False  # a Claude Code process
    reports_activity: bool = False  # its hooks report to our socket
    expects_prompt: bool = False  # it starts with a first message (no idle in between)


class Launcher:
    """Prepares launches; also told when processes come up (see `Supervisor.observers`)."""

    def __init__(self, state_dir: Path, socket_path: Path | None = None,
                 environ: Mapping[str, str] | None = None) -> None:
        self.state_dir = Path(state_dir)
        self.socket_path = socket_path  # None: no daemon socket, so no hooks
        self.environ = dict(os.environ if environ is None else environ)
        self._run_cwd: dict[str, str] = {}  # by id, of the latest launch

    async def prepare(self, spec: ProcessSpec) -> Launch:
        """The launch for `spec`; git runs in a thread, it may check out a whole tree."""
        run_spec = spec
        if spec.worktree is not None:
            path = await asyncio.to_thread(self._worktree, spec)
            run_spec = replace(spec, cwd=str(path))
        self._run_cwd[spec.id] = run_spec.cwd
        if spec.claude is None:
            return Launch(spec.command, run_spec)
        return self._agent_launch(run_spec)

    def _worktree(self, spec: ProcessSpec) -> Path:
        from wezparallel.agents.worktree import ensure_worktree

        assert spec.worktree is not None
        try:
            return ensure_worktree(spec.cwd, spec.workspace, spec.name, spec.worktree)
        except (PermanentError, BackendError) as exc:  # git said no: retrying will not help
            raise SpawnError(f"{spec.id}: worktree: {exc}") from exc

    def _agent_launch(self, spec: ProcessSpec) -> Launch:
        from wezparallel.agents import claude as c
        from wezparallel.agents import hooks

        assert spec.claude is not None
        settings: str | None = None
        if spec.claude.hooks and self.socket_path is not None:
            path = hooks.settings_path(self.state_dir, spec.workspace, spec.name)
            doc = hooks.hooks_settings(self.socket_path, spec.id)
            try:
                settings = str(hooks.write_settings(path, doc))
            except OSError as exc:
                raise SpawnError(f"{spec.id}: cannot write hooks settings {path}: "
                                 f"{exc.strerror or exc}") from exc
        context = c.ClaudeContext(has_run_before=self.has_run_before(spec.id, spec.cwd),
                                  settings_file=settings)
        try:
            argv = c.build_argv(spec, context, environ={**self.environ, **spec.env_dict})
        except SpawnError as exc:
            raise SpawnError(f"{spec.id}: {exc}") from exc
        return Launch(argv, spec, agent=True, reports_activity=settings is not None,
                      expects_prompt=c.sends_prompt(spec.claude, context))

    # --- the conversation marker ------------------------------------------------------------

    def marker_path(self, pid: str) -> Path:
        workspace, _, name = pid.partition(":")
        return self.state_dir / "agents" / workspace / f"{name}.conversation"

    def has_run_before(self, pid: str, cwd: str) -> bool:
        try:
            return self.marker_path(pid).read_text(encoding="utf-8") == cwd
        except OSError:
            return False

    def remember_conversation(self, pid: str) -> None:
        """A conversation exists in the agent's latest cwd: later starts continue it."""
        cwd = self._run_cwd.get(pid)
        if cwd is None or self.has_run_before(pid, cwd):
            return
        path = self.marker_path(pid)
        try:
            ensure_private_dir(path.parent)
            path.write_text(cwd, encoding="utf-8")
        except OSError as exc:
            log.warning("%s: cannot record its conversation in %s: %s", pid, path, exc)

    # --- observer ---------------------------------------------------------------------------

    def process_up(self, spec: ProcessSpec, handle: Handle, launch: Launch | None) -> None:
        """An agent whose hooks cannot tell us about its first prompt counts from its spawn."""
        if launch is not None and launch.agent and not launch.reports_activity:
            self.remember_conversation(spec.id)

    def process_down(self, pid: str, exit: ExitInfo) -> None:
        return None
