"""The daemon's view of what each agent is doing, fed by hook events and the process lifecycle.

The rules live in `wezparallel.agents.activity` (pure); this module keeps one `Activity` per
agent, feeds it the `agent_event` requests and the supervisor's spawn/exit news, and wakes
whoever waits (`wezparctl wait`). Only agents whose hooks report to us are tracked from the
lifecycle alone: without hooks the activity could never leave `starting`, and a field that
never changes would lie. An agent without hooks in a terminal pane is tracked once the screen
poller (`runtime.screen`) takes it on, and its activity then comes from the pane's text.

Times are wall-clock seconds: they are shown to people and kept for time tracking.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection

from wezparallel.agents.activity import Activity, AgentActivity
from wezparallel.backends.base import Handle
from wezparallel.clock import Clock
from wezparallel.plan.lifecycle import ExitInfo
from wezparallel.runtime.launch import Launch
from wezparallel.spec.model import ProcessSpec

log = logging.getLogger(__name__)


class AgentTracker:
    def __init__(self, clock: Clock,
                 on_first_prompt: Callable[[str], None] | None = None) -> None:
        self.clock = clock
        self._on_first_prompt = on_first_prompt
        self.activities: dict[str, Activity] = {}
        self.sessions: dict[str, str | None] = {}  # latest session id per agent
        self._expects_prompt: dict[str, bool] = {}
        self._submitted: dict[str, int] = {}  # UserPromptSubmit events seen per agent
        self._changed = asyncio.Event()

    def get(self, pid: str) -> Activity | None:
        return self.activities.get(pid)

    def tracks(self, pid: str) -> bool:
        return pid in self._expects_prompt

    # --- events in ----------------------------------------------------------------------------

    def process_up(self, spec: ProcessSpec, handle: Handle, launch: Launch | None) -> None:
        """A new instance starts from `starting` (an adopted one too: we cannot know better
        until its next hook fires)."""
        if launch is not None and not launch.reports_activity:
            self._forget(spec.id)
            return
        if launch is None and (spec.claude is None or not spec.claude.hooks):
            return
        self._expects_prompt[spec.id] = launch.expects_prompt if launch else False
        self._set(spec.id, Activity.start(self.clock.wall()))

    def watch_screen(self, pid: str) -> None:
        """The screen poller reads this agent's pane: track it, from `starting`."""
        self._forget(pid)
        self._set(pid, Activity.start(self.clock.wall()))

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
            self._set(pid, act.to(AgentActivity.EXITED, self.clock.wall()))

    def on_event(self, pid: str, event: str, session_id: str | None = None) -> Activity | None:
        """Fold in one hook event; None for a process we do not track (a stale hook of an
        agent since removed, or one whose hooks were turned off)."""
        act = self.activities.get(pid)
        if act is None or not self.tracks(pid):
            return None
        if event == "UserPromptSubmit" and self._on_first_prompt is not None:
            self._on_first_prompt(pid)
        if event == "UserPromptSubmit":
            self._count_prompt(pid)
        if session_id is not None:
            self.sessions[pid] = session_id
        new = act.on_hook(event, self.clock.wall(), expects_prompt=self._expects_prompt[pid])
        if new.current != act.current:
            log.debug("%s: %s -> %s (%s)", pid, act.current, new.current, event)
        self._set(pid, new)
        return new

    def _set(self, pid: str, act: Activity) -> None:
        changed = self.activities.get(pid) != act
        self.activities[pid] = act
        if changed:
            self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

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
