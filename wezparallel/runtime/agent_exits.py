"""What an agent's last screen says when it ends on its own, and what the runtime does about it.

Some failures reach no hook: interactive Claude Code without a network exits 1 about 2 s after
start ("Unable to connect to Anthropic services"), a `--resume` id it does not know ends it at
once ("No conversation found with session ID: ..."). The screen is then the only witness, so at
each exit of an agent we did not stop, its last lines (the pane's text, else the log's tail) are
read once and judged by `agents.failures.from_screen`:

- not logged in: no restart can help; the process goes FATAL with the reason, instead of being
  restarted for ever, and `status` says what to do;
- no network: the problem is shown in `status`; restarts go on at the restart rules' pace;
- a session Claude Code does not know: the launcher forgets it and the next start is a fresh
  session (with a notice); a fresh id it says exists is taken as the one to resume.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from wezparallel.backends.base import Handle
from wezparallel.errors import WezparallelError
from wezparallel.plan.lifecycle import ExitInfo, State
from wezparallel.runtime.agents import AgentTracker
from wezparallel.runtime.launch import Launch, Launcher
from wezparallel.runtime.supervisor import Supervisor
from wezparallel.spec.model import ProcessSpec

if TYPE_CHECKING:
    from wezparallel.agents.failures import AgentProblem

log = logging.getLogger(__name__)

LINES = 40  # lines of the last screen read: Claude Code's messages sit at its bottom

Notify = Callable[[str, str], object]  # (process id, message): see runtime/notices.py


class AgentExits:
    """A supervisor observer, after the tracker (which marks the agent exited first)."""

    def __init__(self, supervisor: Supervisor, launcher: Launcher, tracker: AgentTracker,
                 notify: Notify | None = None) -> None:
        self._sup = supervisor
        self._launcher = launcher
        self._tracker = tracker
        self._notify = notify
        self._agents: set[str] = set()

    def process_up(self, spec: ProcessSpec, handle: Handle, launch: Launch | None) -> None:
        if (launch.agent if launch is not None else spec.claude is not None):
            self._agents.add(spec.id)
        else:
            self._agents.discard(spec.id)

    def process_down(self, pid: str, exit: ExitInfo) -> None:
        st = self._sup.statuses.get(pid)
        if pid not in self._agents or st is None or st.state == State.STOPPED:
            return  # not an agent, or a stop (or restart) that was asked for
        from wezparallel.agents.failures import from_screen  # with the first agent's exit

        problem = from_screen(self._last_screen(pid, st.pane))
        if problem is not None:
            self._act(pid, problem)

    def _last_screen(self, pid: str, pane: str | None) -> list[str]:
        backend = self._sup.backend_of(pid)
        if backend is None:
            return []
        handle = Handle(pid, 0, backend.name, pane=pane) if pane else None
        try:
            lines = backend.read_output(handle, self._sup.log_path(pid), LINES)
            if inspect.isawaitable(lines):
                # tmux answers asynchronously, and this must be decided before the restart
                # is planned: the pane's log (its output as written) instead of its screen
                lines.close()  # type: ignore[attr-defined]
                from wezparallel.backends.wrapper import tail_lines  # pane backends' module

                return tail_lines(self._sup.log_path(pid), LINES)
            return lines
        except (OSError, WezparallelError) as exc:
            log.debug("%s: cannot read its last screen: %s", pid, exc)
            return []

    def _act(self, pid: str, problem: AgentProblem) -> None:
        from wezparallel.agents.failures import SESSION_EXISTS, SESSION_LOST, session_of

        if problem.kind == SESSION_LOST:
            self._launcher.forget_conversation(pid)
            self._tell(pid, f"{problem.describe(pid)}; its next start begins a new one")
        elif problem.kind == SESSION_EXISTS:
            self._launcher.remember_conversation(pid, session_of(problem))
        else:
            self._tracker.set_problem(pid, problem)
            if problem.permanent:
                self._sup.give_up(pid, problem.describe(pid))

    def _tell(self, pid: str, message: str) -> None:
        if self._notify is not None:
            self._notify(pid, message)
        else:
            log.warning("%s: %s", pid, message)
