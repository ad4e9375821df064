"""What the planner asks the runtime to do. Frozen values, printed by `wezparctl plan`."""

from __future__ import annotations

from dataclasses import dataclass

from wezparallel.spec.model import ProcessSpec


@dataclass(frozen=True)
class Start:
    id: str
    spec: ProcessSpec
    reason: str  # new (first start) | user | restart-policy | backoff | config-changed
    counts_as_restart: bool = False  # an automatic restart: adds to the restart count
    kind: str = "start"


@dataclass(frozen=True)
class Stop:
    id: str
    reason: str  # user | removed | shutdown
    kind: str = "stop"


@dataclass(frozen=True)
class Restart:
    """Stop, then start with `spec`; applied as a stop whose STOPPED state the next plan starts."""

    id: str
    spec: ProcessSpec
    reason: str  # config-changed | user
    fields: tuple[str, ...] = ()  # what changed, for config-changed
    kind: str = "restart"


@dataclass(frozen=True)
class Update:
    """New supervision settings for a running process; its pid is kept."""

    id: str
    spec: ProcessSpec
    fields: tuple[str, ...]
    kind: str = "update"


@dataclass(frozen=True)
class Promote:
    """Up for `start_secs`: STARTING -> RUNNING."""

    id: str
    kind: str = "promote"


@dataclass(frozen=True)
class Forget:
    """Removed from the config and no longer running: drop its record."""

    id: str
    kind: str = "forget"


Action = Start | Stop | Restart | Update | Promote | Forget


def describe(action: Action) -> str:
    """One line per change, for `wezparctl plan` and the daemon log."""
    match action:
        case Start(id=id, reason=reason):
            return f"start   {id} ({reason})"
        case Stop(id=id, reason=reason):
            return f"stop    {id} ({reason})"
        case Restart(id=id, reason=reason, fields=f):
            return f"restart {id} ({reason}{': ' + ', '.join(f) if f else ''})"
        case Update(id=id, fields=f):
            return f"update  {id} in place ({', '.join(f)})"
        case Promote(id=id):
            return f"running {id}"
        case Forget(id=id):
            return f"forget  {id}"


def to_json(action: Action) -> dict[str, object]:
    out: dict[str, object] = {"action": action.kind, "id": action.id}
    for name in ("reason", "fields"):
        if hasattr(action, name):
            value = getattr(action, name)
            out[name] = list(value) if isinstance(value, tuple) else value
    return out
