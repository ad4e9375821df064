"""`PromptSender` against scripted input boxes: what is typed, when Enter is pressed (and
pressed again), and what `send` reports. The boxes report UserPromptSubmit to a real
`AgentTracker` the way the hooks do; the real panes are tests/engine/test_send_prompts.py."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field

from wezparallel.backends.base import Handle
from wezparallel.clock import FakeClock
from wezparallel.runtime.agents import AgentTracker
from wezparallel.runtime.launch import Launch
from wezparallel.runtime.prompts import Outcome, PromptSender, PromptTiming, Target
from wezparallel.spec.model import ClaudeSpec, ProcessSpec

FAST = PromptTiming(ready=1.0, taken=0.05, settle=0.0, confirm=0.05, poll=0.001)


@dataclass
class Boxes:
    """Input boxes of a pane backend: `submit_on[pid]` is the Enter press (1, 2...) that
    submits what was typed; 0 never submits. Every call is logged in order."""

    tracker: AgentTracker
    submit_on: dict[str, int] = field(default_factory=dict)
    calls: list[tuple[str, ...]] = field(default_factory=list)
    presses: dict[str, int] = field(default_factory=dict)

    def paste(self, handles: Iterable[Handle], text: str, bracket: bool) -> None:
        self.calls.append(("paste", text, str(bracket), *(h.id for h in handles)))

    def press_enter(self, handles: Iterable[Handle]) -> None:
        for h in handles:
            self.calls.append(("enter", h.id))
            self.presses[h.id] = self.presses.get(h.id, 0) + 1
            if self.presses[h.id] == self.submit_on.get(h.id, 0):
                self.tracker.on_event(h.id, "UserPromptSubmit")


def agent(tracker: AgentTracker, name: str, *events: str) -> Handle:
    """An agent whose hooks report to the tracker, after `events`."""
    spec = ProcessSpec("ws", name, claude=ClaudeSpec(binary="claude"))
    handle = Handle(spec.id, 0, "memory", pane="%1")
    tracker.process_up(spec, handle, Launch(("claude",), spec, agent=True,
                                            reports_activity=True, expects_prompt=False))
    for event in events:
        tracker.on_event(spec.id, event)
    return handle


def send(boxes: Boxes, targets: list[Target], text: str = "do it", enter: bool = True
         ) -> list[Outcome]:
    return asyncio.run(PromptSender(boxes.tracker, FAST).send(targets, text, enter))


def test_an_idle_agent_gets_a_bracketed_paste_then_enter_and_it_is_confirmed() -> None:
    tracker = AgentTracker(FakeClock())
    boxes = Boxes(tracker, {"ws:a": 1})
    h = agent(tracker, "a", "SessionStart")
    assert send(boxes, [Target(h, boxes, agent=True)]) == [Outcome("ws:a", True)]
    assert boxes.calls == [("paste", "do it", "True", "ws:a"), ("enter", "ws:a")]


def test_enter_taken_into_the_paste_is_pressed_once_more() -> None:
    tracker = AgentTracker(FakeClock())
    boxes = Boxes(tracker, {"ws:a": 2})
    h = agent(tracker, "a", "SessionStart")
    assert send(boxes, [Target(h, boxes, agent=True)]) == [Outcome("ws:a", True)]
    assert boxes.calls[1:] == [("enter", "ws:a"), ("enter", "ws:a")]


def test_a_prompt_never_submitted_is_reported_after_two_enters() -> None:
    tracker = AgentTracker(FakeClock())
    boxes = Boxes(tracker, {"ws:a": 0})
    h = agent(tracker, "a", "SessionStart")
    (out,) = send(boxes, [Target(h, boxes, agent=True)])
    assert out.submitted is False
    assert out.note == ("typed but not submitted: no UserPromptSubmit within 0.05s of Enter, "
                        "even after a second Enter; the text may still be in its input box")
    assert boxes.presses == {"ws:a": 2}


def test_a_busy_agent_is_not_pressed_twice_and_not_called_a_failure() -> None:
    tracker = AgentTracker(FakeClock())
    boxes = Boxes(tracker, {"ws:a": 0})
    h = agent(tracker, "a", "SessionStart", "UserPromptSubmit")
    (out,) = send(boxes, [Target(h, boxes, agent=True)])
    assert out == Outcome("ws:a", None, "it was busy, so its submission is not known yet: a "
                          "`wait --until idle` may end with the turn it was in")
    assert boxes.presses == {"ws:a": 1}


def test_a_starting_agent_is_typed_into_once_it_reports_its_session() -> None:
    tracker = AgentTracker(FakeClock())
    boxes = Boxes(tracker, {"ws:a": 1})
    h = agent(tracker, "a")

    async def scenario() -> list[Outcome]:
        loop = asyncio.get_running_loop()
        loop.call_later(0.05, lambda: boxes.calls.append(("SessionStart",)))
        loop.call_later(0.05, tracker.on_event, "ws:a", "SessionStart")
        return await PromptSender(tracker, FAST).send([Target(h, boxes, agent=True)], "go",
                                                      True)

    assert asyncio.run(scenario()) == [Outcome("ws:a", True)]
    assert boxes.calls == [("SessionStart",), ("paste", "go", "True", "ws:a"),
                           ("enter", "ws:a")]


def test_other_panes_get_the_terminals_paste_and_no_confirmation() -> None:
    tracker = AgentTracker(FakeClock())
    boxes = Boxes(tracker, {"ws:a": 1})
    a = agent(tracker, "a", "SessionStart")
    dev = Handle("ws:dev", 0, "memory", pane="%2")
    outs = send(boxes, [Target(a, boxes, agent=True), Target(dev, boxes, agent=False)])
    assert outs == [Outcome("ws:a", True), Outcome("ws:dev", None)]
    assert boxes.calls == [("paste", "do it", "True", "ws:a"),
                           ("paste", "do it", "False", "ws:dev"),
                           ("enter", "ws:a"), ("enter", "ws:dev")]


def test_an_agent_without_hooks_is_typed_into_and_said_unconfirmed() -> None:
    boxes = Boxes(AgentTracker(FakeClock()))
    h = Handle("ws:quiet", 0, "memory", pane="%3")
    (out,) = send(boxes, [Target(h, boxes, agent=True)])
    assert out == Outcome("ws:quiet", None, "no hooks report its prompts (claude.hooks: "
                          "false): submission not confirmed")
    assert boxes.presses == {"ws:quiet": 1}


def test_no_enter_only_types_and_empty_text_only_presses_enter() -> None:
    tracker = AgentTracker(FakeClock())
    boxes = Boxes(tracker, {"ws:a": 1})
    h = agent(tracker, "a", "SessionStart")
    assert send(boxes, [Target(h, boxes, agent=True)], "half", enter=False) == \
        [Outcome("ws:a", None)]
    assert send(boxes, [Target(h, boxes, agent=True)], "", enter=True) == \
        [Outcome("ws:a", True)]
    assert boxes.calls == [("paste", "half", "True", "ws:a"), ("enter", "ws:a")]
