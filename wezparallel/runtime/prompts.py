"""Typing text into panes so that an agent submits it, and knowing whether it did (`send`).

Claude Code's input box takes a fast burst of bytes as a paste: text and Enter written in one go
leave the Enter inside the paste and the prompt unsubmitted (4 of 32 prompts in a trial with
real agents). So text goes in steps, the backends doing only the typing:

1. An agent still starting gets `ready` seconds to report SessionStart: before its input box is
   up the terminal is in line mode, where the Enter would arrive as a newline.
2. The text, as one paste (bracketed by us for agents: `backends.paste`).
3. Once the program has read it (its terminal's input queue is empty) and a quiet `settle` gap
   has passed, Enter on its own.
4. For agents whose hooks report to us, their UserPromptSubmit within `confirm` seconds; if
   it does not come, Enter once more, and then the outcome says the prompt was not submitted.

`send` thus returns after the agent has taken the prompt, so a `wait --until idle` right after
it waits for the end of that turn, not for the end of the one before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from typing import Protocol

from wezparallel.agents.activity import AgentActivity
from wezparallel.backends.base import Handle, resolved
from wezparallel.backends.paste import terminal_of, unread_input
from wezparallel.runtime.agents import AgentTracker

A = AgentActivity


@dataclass(frozen=True)
class PromptTiming:
    """How `send` paces a prompt, in seconds."""

    ready: float = 20.0  # longest wait for a starting agent's SessionStart
    taken: float = 2.0  # longest wait for the program to read the pasted text
    settle: float = 0.15  # quiet gap between the text being read and Enter: input boxes
    #                       hold Enter as part of a paste for a while (Codex: 120 ms)
    confirm: float = 3.0  # wait for UserPromptSubmit after each Enter
    poll: float = 0.01  # interval of the looks at a terminal's input queue


class PromptInput(Protocol):
    """The typing a pane backend offers."""

    # at once or awaitable (tmux waits for its server off the loop): see `resolved`
    def paste(self, handles: Iterable[Handle], text: str,
              bracket: bool) -> Awaitable[None] | None: ...

    def press_enter(self, handles: Iterable[Handle]) -> Awaitable[None] | None: ...


@dataclass(frozen=True)
class Target:
    handle: Handle
    backend: PromptInput
    agent: bool  # a Claude Code agent: its text is bracketed by us

    @property
    def id(self) -> str:
        return self.handle.id


@dataclass(frozen=True)
class Outcome:
    """What became of the text in one pane. `submitted` None: not known, and not expected to
    be (not an agent, no hooks, no Enter, an agent in the middle of a turn)."""

    id: str
    submitted: bool | None
    note: str = ""

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "submitted": self.submitted, "note": self.note}


class PromptSender:
    """One prompt at a time: two sends typing into one box at once would mix their text."""

    def __init__(self, agents: AgentTracker, timing: PromptTiming | None = None) -> None:
        self.agents = agents
        self.timing = timing or PromptTiming()
        self._lock = asyncio.Lock()

    async def send(self, targets: list[Target], text: str, enter: bool) -> list[Outcome]:
        async with self._lock:
            await self._until_ready(targets)
            before = {t.id: self._activity(t) for t in targets}  # what the box was ready for
            expect = {t.id: self.agents.submitted(t.id) for t in targets
                      if enter and before[t.id] in (A.IDLE, A.STARTING, A.BUSY)}
            if text:
                for backend, bracket, handles in _groups(targets):
                    await resolved(backend.paste(handles, text, bracket))
            if not enter:
                return [Outcome(t.id, None) for t in targets]
            if text:
                await self._until_taken(targets)
                await asyncio.sleep(self.timing.settle)
            await _press_enter(targets)
            missing = await self._unconfirmed(expect)
            retry = [t for t in targets if t.id in missing and before[t.id] != A.BUSY]
            if retry:
                await _press_enter(retry)
                missing = await self._unconfirmed({t.id: expect[t.id] for t in retry}) \
                    | (missing - {t.id for t in retry})
            return [self._outcome(t, before[t.id], t.id in expect, t.id in missing)
                    for t in targets]

    # --- before typing ----------------------------------------------------------------------

    async def _until_ready(self, targets: list[Target]) -> None:
        starting = [t.id for t in targets if self._activity(t) == A.STARTING]
        others = {A.IDLE, A.BUSY, A.WAITING, A.EXITED}
        await asyncio.gather(*(self.agents.wait_for(pid, others, self.timing.ready)
                               for pid in starting))

    def _activity(self, t: Target) -> AgentActivity | None:
        """The activity of an agent whose hooks report to us; None for anything else."""
        act = self.agents.get(t.id)
        if not t.agent or act is None or not self.agents.tracks(t.id):
            return None
        return act.current

    # --- after typing -----------------------------------------------------------------------

    async def _until_taken(self, targets: list[Target]) -> None:
        """Until every program has read what was typed, or `taken` seconds have passed."""
        ttys = [tty for t in targets if (tty := terminal_of(t.handle.pid)) is not None]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timing.taken
        while ttys and loop.time() < deadline:
            ttys = [tty for tty in ttys if unread_input(tty)]
            if ttys:
                await asyncio.sleep(self.timing.poll)

    async def _unconfirmed(self, expect: dict[str, int]) -> set[str]:
        seen = await asyncio.gather(*(self.agents.wait_submitted(pid, count,
                                                                 self.timing.confirm)
                                      for pid, count in expect.items()))
        return {pid for pid, ok in zip(expect, seen, strict=True) if not ok}

    def _outcome(self, t: Target, before: AgentActivity | None, expected: bool,
                 missing: bool) -> Outcome:
        if expected and not missing:
            return Outcome(t.id, True)
        if expected and before != A.BUSY:
            return Outcome(t.id, False, (
                f"typed but not submitted: no UserPromptSubmit within "
                f"{self.timing.confirm:g}s of Enter, even after a second Enter; the text may "
                "still be in its input box"))
        if not t.agent:
            return Outcome(t.id, None)
        return Outcome(t.id, None, _UNKNOWN.get(before, _UNKNOWN[None]))


_UNKNOWN = {
    None: "no hooks report its prompts (claude.hooks: false): submission not confirmed",
    A.BUSY: "it was busy, so its submission is not known yet: a `wait --until idle` may end "
            "with the turn it was in",
    A.WAITING: "it was waiting for an answer: the text went to its question",
    A.EXITED: "its session had ended",
}
"""Why an agent's submission is not known, by its activity when the text was typed."""


def _groups(targets: list[Target]) -> list[tuple[PromptInput, bool, list[Handle]]]:
    """Targets by backend and bracketing, so each backend types once per kind (one tmux call
    for a whole broadcast)."""
    groups: dict[tuple[int, bool], tuple[PromptInput, bool, list[Handle]]] = {}
    for t in targets:
        groups.setdefault((id(t.backend), t.agent), (t.backend, t.agent, []))[2].append(t.handle)
    return list(groups.values())


async def _press_enter(targets: list[Target]) -> None:
    for backend, _, handles in _groups(targets):
        await resolved(backend.press_enter(handles))
