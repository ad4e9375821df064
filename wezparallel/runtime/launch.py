"""What a process actually runs: the last step between a spec and a backend's spawn.

For most processes that is `spec.command` as it is. An agent (`claude:`) needs effects first,
and they belong here rather than in the supervisor or the pure argv builder:

- its git worktree, created on first use (`worktree:`), whose path replaces the cwd the
  backend sees; the spec the supervisor keeps is untouched, so reload diffs stay exact;
- its hooks `--settings` file pointing at this daemon's socket;
- the agent's conversation: each agent has its own session id, chosen here for a fresh start
  (`--session-id`) and resumed by id (`--resume`) by `resume: auto`. A file per agent in the
  state dir (`agents/WS/NAME.session.json`) keeps the id and the cwd it lives in (Claude Code
  keeps sessions per directory), so it survives a daemon restart and a full shutdown. An id is
  resumed only once the conversation exists: once a prompt reached it (the UserPromptSubmit
  hook, whose `session_id` also follows a `/clear` to the new session), or for an agent
  without hooks, once its spawn succeeded. Never `--continue`, which opens the newest session of
  the directory: another agent's, when two share it.
- a session that cannot be resumed (Claude Code says "No conversation found with session ID" at
  exit: its files were deleted, HOME changed...) is forgotten, with a notice, and the next
  start is a fresh session with the configured first prompt, as at the very first start; a
  fresh id Claude Code says already exists is taken as the conversation to resume.

Every failure is a SpawnError naming the process: retrying cannot create a git repository or
install Claude Code, so the supervisor makes the process FATAL instead of crash-looping.
"""

from __future__ import annotations

import asyncio
import json
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


@dataclass(frozen=True)
class Conversation:
    """An agent's Claude Code session: its id and the cwd Claude Code keeps it under.
    `confirmed`: it exists (it got a prompt), so a restart can resume it."""

    cwd: str
    session_id: str
    confirmed: bool

    @classmethod
    def load(cls, path: Path) -> Conversation | None:
        """None when there is no record, or one this version cannot read (a fresh session
        then starts, which is also what an unreadable record would lead to anyway)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(str(data["cwd"]), str(data["session_id"]), bool(data["confirmed"]))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring unreadable conversation record %s: %s", path, exc)
            return None

    def save(self, path: Path) -> None:
        ensure_private_dir(path.parent)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps({"cwd": self.cwd, "session_id": self.session_id,
                                   "confirmed": self.confirmed}) + "\n", encoding="utf-8")
        os.replace(tmp, path)


class Launcher:
    """Prepares launches; also told when processes come up (see `Supervisor.observers`)."""

    def __init__(self, state_dir: Path, socket_path: Path | None = None,
                 environ: Mapping[str, str] | None = None) -> None:
        self.state_dir = Path(state_dir)
        self.socket_path = socket_path  # None: no daemon socket, so no hooks
        self.environ = dict(os.environ if environ is None else environ)
        self._run_cwd: dict[str, str] = {}  # by id, of the latest launch
        self._conversations: dict[str, Conversation | None] = {}  # by id, as on disk

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
        import uuid  # (with `platform`, which it imports) for agents only

        from wezparallel.agents import claude as c
        from wezparallel.agents import hooks

        assert spec.claude is not None
        settings: str | None = None
        if spec.claude.hooks and self.socket_path is not None:
            path = hooks.settings_path(self.state_dir, spec.workspace, spec.name)
            doc = hooks.hooks_settings(self.socket_path, spec.id,
                                       spool=hooks.spool_path(self.state_dir))
            try:
                settings = str(hooks.write_settings(path, doc))
            except OSError as exc:
                raise SpawnError(f"{spec.id}: cannot write hooks settings {path}: "
                                 f"{exc.strerror or exc}") from exc
        resume = self._resumable(spec.id, spec.cwd) if spec.claude.resume == "auto" else None
        context = c.ClaudeContext(resume_session=resume, new_session=str(uuid.uuid4()),
                                  settings_file=settings)
        try:
            argv = c.build_argv(spec, context, environ={**self.environ, **spec.env_dict})
        except SpawnError as exc:
            raise SpawnError(f"{spec.id}: {exc}") from exc
        if resume is None:  # to be confirmed by its first prompt
            self._record(spec.id, Conversation(spec.cwd, context.new_session or "", False))
        return Launch(argv, spec, agent=True, reports_activity=settings is not None,
                      expects_prompt=c.sends_prompt(spec.claude, context))

    # --- the conversation ------------------------------------------------------------------

    def session_path(self, pid: str) -> Path:
        workspace, _, name = pid.partition(":")
        return self.state_dir / "agents" / workspace / f"{name}.session.json"

    def conversation(self, pid: str) -> Conversation | None:
        """The agent's recorded conversation (also one not yet confirmed)."""
        if pid not in self._conversations:
            self._conversations[pid] = Conversation.load(self.session_path(pid))
        return self._conversations[pid]

    def session_id(self, pid: str) -> str | None:
        conv = self.conversation(pid)
        return conv.session_id if conv is not None else None

    def _resumable(self, pid: str, cwd: str) -> str | None:
        conv = self.conversation(pid)
        if conv is not None and conv.confirmed and conv.cwd == cwd:
            return conv.session_id
        return None

    def remember_conversation(self, pid: str, session_id: str | None = None) -> None:
        """The agent's conversation exists now (`session_id`: the one a hook reported, which
        differs from ours after a `/clear`): later starts resume it."""
        conv = self.conversation(pid)
        cwd = self._run_cwd.get(pid) or (conv.cwd if conv else None)
        session = session_id or (conv.session_id if conv else None)
        if cwd is None or session is None:
            return
        self._record(pid, Conversation(cwd, session, confirmed=True))

    def forget_conversation(self, pid: str) -> None:
        self._conversations[pid] = None
        try:
            self.session_path(pid).unlink(missing_ok=True)
        except OSError as exc:
            log.warning("%s: cannot forget its conversation %s: %s", pid,
                        self.session_path(pid), exc)

    def _record(self, pid: str, conv: Conversation) -> None:
        if self.conversation(pid) == conv:
            return
        self._conversations[pid] = conv
        path = self.session_path(pid)
        try:
            conv.save(path)
        except OSError as exc:
            log.warning("%s: cannot record its conversation in %s: %s", pid, path, exc)

    # --- observer ---------------------------------------------------------------------------

    def process_up(self, spec: ProcessSpec, handle: Handle, launch: Launch | None) -> None:
        """An agent whose hooks cannot tell us about its first prompt counts from its spawn."""
        if launch is not None and launch.agent and not launch.reports_activity:
            self.remember_conversation(spec.id)
        if launch is None and spec.claude is not None:  # adopted: its recorded cwd
            conv = self.conversation(spec.id)
            if conv is not None:
                self._run_cwd.setdefault(spec.id, conv.cwd)

    def process_down(self, pid: str, exit: ExitInfo) -> None:
        return None
