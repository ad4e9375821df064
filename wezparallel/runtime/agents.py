"""The daemon's view of what each agent is doing, fed by hook events and the process lifecycle.

The rules live in `wezparallel.agents.activity` (pure); this module keeps one `Activity` per
agent, feeds it the `agent_event` requests and the supervisor's spawn/exit news, and wakes
whoever waits (`wezparctl wait`). Only agents whose hooks report to us are tracked from the
lifecycle alone: without hooks the activity could never leave `starting`, and a field that
never changes would lie. An agent without hooks in a terminal pane is tracked once the screen
poller (`runtime.screen`) takes it on, and its activity then comes from the pane's text.

A failed turn (StopFailure) or an exit whose last screen says why (`runtime.agent_exits`)
leaves a `problem` (not logged in, no network...) that `status` shows until a turn succeeds.

The activity, its history, the session id and the problem are saved with the runtime state
(`to_json`, after every change: `on_change`) and restored for an agent a restarted daemon
adopts, so a daemon restart neither resets the activity to `starting` nor loses its history.

Times are wall-clock seconds: they are shown to people and kept for time tracking.

The rules and the problems (`agents.activity`, `agents.failures`) are imported by the first
agent the tracker takes on or restores: a daemon of plain processes never loads them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any

from wezparallel.backends.base import Handle
from wezparallel.clock import Clock
from wezparallel.plan.lifecycle import ExitInfo
from wezparallel.runtime.launch import Launch
from wezparallel.spec.model import ProcessSpec

if TYPE_CHECKING:
    from wezparallel.agents.activity import Activity, AgentActivity, Hook
    from wezparallel.agents.failures import AgentProblem

log = logging.getLogger(__name__)


class AgentTracker:
    def __init__(self, clock: Clock,
                 on_prompt: Callable[[str, str | None], None] | None = None,
                 on_change: Callable[[], None] | None = None) -> None:
        """`on_prompt(pid, session_id)`: a prompt reached the agent's session (it exists now).
        `on_change()`: something worth saving changed."""
        self.clock = clock
        self._on_prompt = on_prompt
        self._on_change = on_change
        self.activities: dict[str, Activity] = {}
        self.sessions: dict[str, str | None] = {}  # latest session id per agent
        self.problems: dict[str, AgentProblem] = {}  # until a turn succeeds
        self._expects_prompt: dict[str, bool] = {}
        self._restored: dict[str, Activity] = {}  # for the adoption that follows a restart
        self._submitted: dict[str, int] = {}  # UserPromptSubmit events seen per agent
        self._changed = asyncio.Event()
        # told (pid, before, after) when an agent's activity changes; events come from these
        self.watchers: list[Callable[[str, Activity | None, Activity], None]] = []
        # told (pid, event, session_id, payload, when) of every hook event, after the activity
        # changed: the task board finishes a task on the Stop of the session that received it
        self.hook_watchers: list[Callable[[str, str, str | None, Hook, float], None]] = []

    def get(self, pid: str) -> Activity | None:
        return self.activities.get(pid)

    def tracks(self, pid: str) -> bool:
        return pid in self._expects_prompt

    # --- events in ----------------------------------------------------------------------------

    def process_up(self, spec: ProcessSpec, handle: Handle, launch: Launch | None) -> None:
        """A new instance starts from `starting`; an adopted one where the earlier daemon left
        it (`restore`), else from `starting` too, until its next hook fires."""
        restored = self._restored.pop(spec.id, None)  # only an adoption takes it back
        if launch is not None:
            restored = None
        if launch is not None and not launch.reports_activity:
            self._forget(spec.id)
            return
        if launch is None and (spec.claude is None or not spec.claude.hooks):
            return
        self._expects_prompt[spec.id] = launch.expects_prompt if launch else False
        self._set(spec.id, restored or _start(self.clock.wall()))

    def watch_screen(self, pid: str) -> None:
        """The screen poller reads this agent's pane: track it, from `starting`."""
        self._forget(pid)
        self._set(pid, _start(self.clock.wall()))

    def on_screen(self, pid: str, activity: AgentActivity) -> Activity | None:
        """What the pane's text says (already debounced); None for an agent not taken on by
        `watch_screen`, or one whose hooks report to us (they are the better source)."""
        act = self.activities.get(pid)
        if act is None or self.tracks(pid):
            return None
        new = act.to(activity, self.clock.wall())
        if new.current != act.current:
            log.debug("%s: %s -> %s (screen)", pid, act.current, new.current)
        self._set(pid, new)
        return new

    def process_down(self, pid: str, exit: ExitInfo) -> None:
        act = self.activities.get(pid)
        if act is not None:
            from wezparallel.agents.activity import AgentActivity

            self._set(pid, act.to(AgentActivity.EXITED, self.clock.wall()))

    def on_event(self, pid: str, event: str, session_id: str | None = None,
                 hook: Hook | None = None, at: float | None = None) -> Activity | None:
        """Fold in one hook event (`hook`: its payload's fields; `at`: when it happened, for
        one that waited in the hook spool, else now); None for a process we do not track (a
        stale hook of an agent since removed, or one whose hooks were turned off)."""
        act = self.activities.get(pid)
        if act is None or not self.tracks(pid):
            return None
        hook = hook or {}
        if event == "UserPromptSubmit" and self._on_prompt is not None:
            self._on_prompt(pid, session_id)
        if event == "UserPromptSubmit":
            self._count_prompt(pid)
        if session_id is not None and self.sessions.get(pid) != session_id:
            self.sessions[pid] = session_id
            self._saved_changed()
        when = self.clock.wall() if at is None else at
        new = act.on_hook(event, when, expects_prompt=self._expects_prompt[pid], hook=hook)
        if new.current != act.current:
            log.debug("%s: %s -> %s (%s)", pid, act.current, new.current, event)
        self._turn_outcome(pid, event, hook)
        self._set(pid, new)
        for watcher in self.hook_watchers:
            watcher(pid, event, session_id, hook, when)
        return new

    def _turn_outcome(self, pid: str, event: str, hook: Hook) -> None:
        """A failed turn leaves its problem; a successful one clears any (a subagent's turn
        is not the session's)."""
        if hook.get("agent_id"):
            return
        if event == "StopFailure":
            from wezparallel.agents.failures import from_stop_failure

            self.set_problem(pid, from_stop_failure(hook))
        elif event == "Stop":
            self.set_problem(pid, None)

    def set_problem(self, pid: str, problem: AgentProblem | None) -> None:
        if self.problems.get(pid) == problem:
            return
        if problem is None:
            self.problems.pop(pid, None)
        else:
            log.warning("%s: %s", pid, problem.describe(pid))
            self.problems[pid] = problem
        self._saved_changed()

    def _set(self, pid: str, act: Activity) -> None:
        before = self.activities.get(pid)
        changed = before != act
        self.activities[pid] = act
        for watcher in self.watchers if changed else ():
            watcher(pid, before, act)
        if changed:
            self._wake()
            self._saved_changed()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _saved_changed(self) -> None:
        if self._on_change is not None:
            self._on_change()

    # --- across a daemon restart --------------------------------------------------------------

    def to_json(self, pid: str) -> dict[str, Any] | None:
        """What `restore` needs to take the agent back; None for an agent we know nothing of."""
        act, problem = self.activities.get(pid), self.problems.get(pid)
        if act is None and problem is None:
            return None
        return {"activity": act.to_json() if act else None,
                "session_id": self.sessions.get(pid),
                "problem": [problem.kind, problem.detail] if problem else None}

    def restore(self, pid: str, data: Mapping[str, Any]) -> None:
        """Take back what `to_json` saved; the activity applies if the agent is adopted."""
        from wezparallel.agents.activity import Activity
        from wezparallel.agents.failures import AgentProblem

        try:
            act = data.get("activity")
            if isinstance(act, dict):
                self._restored[pid] = Activity.from_json(act)
            session, problem = data.get("session_id"), data.get("problem")
            if isinstance(session, str):
                self.sessions[pid] = session
            if isinstance(problem, list) and len(problem) == 2:
                self.problems[pid] = AgentProblem(str(problem[0]), str(problem[1]))
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("%s: ignoring its damaged saved activity: %s", pid, exc)

    def _forget(self, pid: str) -> None:
        self.activities.pop(pid, None)
        self._expects_prompt.pop(pid, None)
        self.sessions.pop(pid, None)

    # --- waiting ------------------------------------------------------------------------------

    async def wait_for(self, pid: str, targets: Collection[AgentActivity],
                       timeout: float) -> Activity | None:
        """The activity once it is one of `targets`, or None when `timeout` seconds pass."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            act = self.activities.get(pid)
            if act is not None and act.current in targets:
                return act
            left = deadline - loop.time()
            if left <= 0:
                return None
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except TimeoutError:
                return None

    # --- prompts submitted (how `send` confirms that Enter was taken) -------------------------

    def _count_prompt(self, pid: str) -> None:
        self._submitted[pid] = self._submitted.get(pid, 0) + 1
        self._wake()  # a prompt queued while busy changes no activity, but is news to `send`

    def submitted(self, pid: str) -> int:
        """How many prompts the agent has reported submitting (UserPromptSubmit) so far."""
        return self._submitted.get(pid, 0)

    async def wait_submitted(self, pid: str, count: int, timeout: float) -> bool:
        """True once more than `count` prompts were submitted, False after `timeout` s."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.submitted(pid) <= count:
            left = deadline - loop.time()
            if left <= 0:
                return False
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except TimeoutError:
                return False
        return True


def _start(now: float) -> Activity:
    from wezparallel.agents.activity import Activity

    return Activity.start(now)
