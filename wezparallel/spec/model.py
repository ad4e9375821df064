"""The frozen, typed model a workspace file loads into.

Every field already has its default applied, its environment interpolated and its paths made
absolute, so code downstream never re-derives anything from raw YAML. Specs are compared with
`==` to plan reloads; which fields force a restart is decided here, next to the fields.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields

from wezparallel.errors import Problem


class RestartPolicy(enum.StrEnum):
    ALWAYS = "always"
    ON_FAILURE = "on-failure"
    NEVER = "never"


class BackendName(enum.StrEnum):
    AUTO = "auto"
    WEZTERM = "wezterm"
    TMUX = "tmux"
    SUBPROCESS = "subprocess"


class Layout(enum.StrEnum):
    TILED = "tiled"
    COLUMNS = "columns"
    ROWS = "rows"
    MAIN_LEFT = "main-left"
    MAIN_TOP = "main-top"


class DependencyCondition(enum.StrEnum):
    STARTED = "started"
    HEALTHY = "healthy"


@dataclass(frozen=True)
class Backoff:
    """Delay before retry number n (1-based) is `initial * factor**(n-1)`, capped at `max`.

    n counts short runs in a row: failed starts, and runs that ended within `reset_after` of
    their start. A run that lasted `reset_after` ends the row, so a server that crashes once
    a day restarts at once while one that dies seconds after every start waits longer each
    time (PM2's exp-backoff-restart-delay, Docker's restart delay)."""

    initial: float = 0.5  # seconds
    max: float = 30.0  # seconds
    factor: float = 2.0
    reset_after: float = 60.0  # seconds; 0: any run past start_secs ends the row (supervisord)

    def delay(self, attempt: int) -> float:
        if attempt <= 0:
            return 0.0
        try:
            return float(min(self.max, self.initial * self.factor ** (attempt - 1)))
        except OverflowError:  # a long streak with factor > 1 passes any cap
            return float(self.max)


@dataclass(frozen=True)
class Dependency:
    """`depends_on` entry; `process` is a full id (`ws:name`)."""

    process: str
    condition: DependencyCondition = DependencyCondition.STARTED


@dataclass(frozen=True)
class PaneSpec:
    """Placement hints for pane backends; ignored by the headless backend."""

    split: str | None = None  # right | left | top | bottom
    size: str | None = None  # "40%" or a number of cells
    domain: str | None = None  # WezTerm mux domain, e.g. "SSHMUX:devbox"


@dataclass(frozen=True)
class ClaudeSpec:
    """A Claude Code agent; turned into an argv by `wezparallel.agents`."""

    binary: str | None = None
    prompt: str | None = None
    model: str | None = None
    permission_mode: str | None = None
    allowed_tools: tuple[str, ...] = ()
    disallowed_tools: tuple[str, ...] = ()
    append_system_prompt: str | None = None
    add_dirs: tuple[str, ...] = ()
    mcp_config: str | None = None
    resume: str = "auto"  # auto | never
    hooks: bool = True
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class HealthProbe:
    """One `health:` entry. Fields not used by a probe's `kind` stay None."""

    kind: str  # exec | http | tcp | output | idle | memory
    interval: float = 10.0
    timeout: float = 5.0
    retries: int = 3
    start_period: float = 0.0
    action: str = "mark"  # mark | restart | notify
    command: tuple[str, ...] | None = None
    url: str | None = None
    host: str = "127.0.0.1"
    port: int | None = None
    pattern: str | None = None
    duration: float | None = None
    max_bytes: int | None = None
    options: str = "{}"  # a plugin kind's `options:` as JSON (sorted keys): hashable, frozen


@dataclass(frozen=True)
class EventHook:
    """One `on:` entry: a command run when the process reaches `event`."""

    event: str  # starting | running | ... | crashed (wezparallel.events.model.HOOK_EVENTS)
    command: tuple[str, ...]  # argv; a string in the file is ("/bin/sh", "-c", STRING)


@dataclass(frozen=True)
class WorktreeSpec:
    branch: str | None = None
    base: str | None = None
    path: str | None = None


@dataclass(frozen=True)
class SourceRef:
    """Where a definition came from, for messages that point at a line."""

    file: str
    line: int = 1
    column: int = 1


AGENT_START_SECS = 5.0
"""`start_secs` of a `claude:` agent unless the file says otherwise: Claude Code takes a
second or two to draw its screen, and without a login or a network it exits about 2 s in
("Unable to connect", "Not logged in"; Claude Code 2.1.197). With supervisord's 1 s such an
agent would count as started and each exit as a crash; with 5 s it is a failed start, which is
what it is, reported as such, while a healthy agent still counts as started quickly."""


# Fields whose change means the running program is no longer what the file asks for.
RESTART_FIELDS = frozenset(
    {"command", "shell", "claude", "cwd", "env", "backend", "pane", "worktree"}
)


@dataclass(frozen=True)
class ProcessSpec:
    """Everything needed to run and supervise one process, fully resolved."""

    workspace: str
    name: str
    command: tuple[str, ...] = ()  # argv; for shell=True, ("/bin/sh", "-c", STRING)
    shell: bool = False
    claude: ClaudeSpec | None = None
    cwd: str = "."  # absolute after loading
    env: tuple[tuple[str, str], ...] = ()  # sorted (KEY, VALUE) pairs, interpolated
    backend: BackendName = BackendName.AUTO
    layout: Layout = Layout.TILED
    autostart: bool = True
    restart: RestartPolicy = RestartPolicy.ON_FAILURE
    start_secs: float = 1.0  # AGENT_START_SECS for `claude:` agents
    max_restarts: int = 5  # short runs in a row before FATAL
    backoff: Backoff = field(default_factory=Backoff)
    stop_signal: str = "TERM"
    stop_timeout: float = 10.0
    depends_on: tuple[Dependency, ...] = ()
    health: tuple[HealthProbe, ...] = ()
    pane: PaneSpec = field(default_factory=PaneSpec)
    worktree: WorktreeSpec | None = None
    on: tuple[EventHook, ...] = ()  # the workspace's hooks, then the process's own
    source: SourceRef = field(default_factory=lambda: SourceRef("<memory>"), compare=False)

    @property
    def id(self) -> str:
        return f"{self.workspace}:{self.name}"

    @property
    def env_dict(self) -> dict[str, str]:
        return dict(self.env)

    def needs_restart_for(self, new: ProcessSpec) -> bool:
        """True when `new` changes what runs (argv, cwd, env, placement), not just how it is
        supervised; those other fields are applied in place, keeping the pid."""
        return any(getattr(self, f) != getattr(new, f) for f in RESTART_FIELDS)

    def changed_fields(self, new: ProcessSpec) -> tuple[str, ...]:
        return tuple(
            f.name for f in fields(self)
            if f.compare and getattr(self, f.name) != getattr(new, f.name)
        )


@dataclass(frozen=True)
class WorkspaceSpec:
    name: str
    file: str
    cwd: str
    backend: BackendName = BackendName.AUTO
    layout: Layout = Layout.TILED
    processes: tuple[ProcessSpec, ...] = ()
    description: str = field(default="", compare=False)  # the file's `description:`
    dispatch: str = "manual"  # auto: idle agents take the workspace's todo tasks


@dataclass(frozen=True)
class DesiredState:
    """What the conf dir asks for, plus what could not be loaded.

    `workspaces` holds, per file, its newest valid version; a file whose newest save is broken
    keeps its last good version here while `problems` says why the new one was rejected.
    """

    workspaces: tuple[WorkspaceSpec, ...] = ()
    problems: tuple[Problem, ...] = ()

    def processes(self) -> dict[str, ProcessSpec]:
        return {p.id: p for ws in self.workspaces for p in ws.processes}
