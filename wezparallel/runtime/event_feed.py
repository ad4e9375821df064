"""Connects the daemon's parts to the event bus: each part says what it touched, the event
layer decides what that means. Nothing here runs per event beyond a dictionary lookup."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from wezparallel.events.bus import EventBus
from wezparallel.events.model import StatusDiffer
from wezparallel.runtime.agents import AgentTracker
from wezparallel.runtime.notices import Notice, Notices
from wezparallel.runtime.supervisor import Supervisor

if TYPE_CHECKING:
    from wezparallel.agents.activity import Activity


def connect(bus: EventBus, supervisor: Supervisor, agents: AgentTracker, notices: Notices,
            health_reason: Callable[[str], str | None]) -> StatusDiffer:
    """Feed status, activity and notice changes into `bus`; the differ is returned so that
    adopted processes can be made known to it without an event."""
    differ = StatusDiffer(bus.emit, health_reason)
    supervisor.status_watchers.append(differ.check)

    def activity(pid: str, before: Activity | None, after: Activity) -> None:
        old = before.current.value if before is not None else None
        if old != after.current.value:
            bus.publish("activity", pid, {"from": old, "to": after.current.value})

    def notice(n: Notice) -> None:
        bus.publish("notice", n.process or None, {"message": n.message})

    agents.watchers.append(activity)
    notices.watchers.append(notice)
    return differ
