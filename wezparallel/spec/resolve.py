"""A schema-valid document -> the frozen model: defaults, units, env, paths, argv.

Runs on documents the schema accepted, so it checks just what the schema cannot state:
`command` xor `claude`, splitting commands, real signal names, interpolation and env files.
In a document the schema rejected, the processes it found nothing wrong with are still
resolved (`skip` names the others), so one run reports the problems of every stage. Every
problem is located; values that come from `defaults:` are located there. Dependencies are
checked across all files at once by `depgraph`.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wezparallel.errors import ConfigError, Problem
from wezparallel.spec import units
from wezparallel.spec.interpolate import InterpolationError, interpolate, parse_env_file
from wezparallel.spec.merge import deep_merge, has_path
from wezparallel.spec.model import (
    AGENT_START_SECS,
    BackendName,
    Backoff,
    ClaudeSpec,
    Dependency,
    DependencyCondition,
    EventHook,
    HealthProbe,
    Layout,
    PaneSpec,
    ProcessSpec,
    RestartPolicy,
    WorkspaceSpec,
    WorktreeSpec,
)
from wezparallel.spec.schema import dotted
from wezparallel.spec.yamlsource import Document, YamlPath, read_limited


@dataclass
class Resolved:
    spec: WorkspaceSpec | None
    problems: list[Problem] = field(default_factory=list)
    env_files: list[str] = field(default_factory=list)  # absolute, read or not


class _Invalid(Exception):
    """One located problem that ends the resolution of the current field."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem


@dataclass
class _File:
    doc: Document
    environ: Mapping[str, str]
    problems: list[Problem] = field(default_factory=list)
    env_files: list[str] = field(default_factory=list)

    def fail(self, path: YamlPath, message: str, key: bool = False) -> _Invalid:
        ref = self.doc.where(path, key=key)
        prefix = f"`{dotted(path)}`: " if path else ""
        return _Invalid(Problem(ref.file, ref.line, ref.column, prefix + message))

    def expand(self, text: str, path: YamlPath) -> str:
        try:
            return interpolate(text, self.environ)
        except InterpolationError as exc:
            raise self.fail(path, str(exc)) from None


def resolve_workspace(doc: Document, environ: Mapping[str, str],
                      skip: frozenset[str] = frozenset()) -> Resolved:
    """Build the WorkspaceSpec of a schema-valid document (its file path as given); the
    processes named in `skip` (schema-invalid ones) are left out."""
    data: dict[str, Any] = doc.data if isinstance(doc.data, dict) else {}
    ctx = _File(doc, environ)
    nul = _first_nul(data, ())
    if nul is not None:  # no argv, environment or path can carry one: Popen would refuse it
        return Resolved(None, [ctx.fail(nul, "contains a NUL character (\\0), which no "
                                             "program argument, environment variable or "
                                             "path can hold").problem])
    try:
        base_env = _workspace_env(ctx, data)
        cwd = _directory(ctx, data.get("cwd"), ("cwd",), os.path.dirname(doc.file) or ".")
    except _Invalid as exc:
        return Resolved(None, [exc.problem], env_files=ctx.env_files)
    name = str(data["workspace"])
    backend = BackendName(data.get("backend", "auto"))
    layout = Layout(data.get("layout", "tiled"))
    defaults = data.get("defaults") or {}
    processes = []
    for pname, own in (data.get("processes") or {}).items():
        if pname in skip:
            continue
        proc = _Process(ctx, name, pname, own or {}, defaults)
        try:
            processes.append(proc.build(cwd, base_env, backend, layout,
                                        hooks(data.get("on"))))
        except _Invalid as exc:
            ctx.problems.append(exc.problem)
    if ctx.problems:  # a problem in `defaults:` is found once per process: report it once
        return Resolved(None, list(dict.fromkeys(ctx.problems)), ctx.env_files)
    spec = WorkspaceSpec(name=name, file=doc.file, cwd=cwd, backend=backend, layout=layout,
                         processes=tuple(processes), description=str(data.get("description", "")),
                         dispatch=str(data.get("dispatch", "manual")))
    return Resolved(spec, [], ctx.env_files)


def _first_nul(value: object, path: YamlPath) -> YamlPath | None:
    """Where the document first holds a string (value or key) with a NUL in it."""
    if isinstance(value, str):
        return path if "\0" in value else None
    items: list[tuple[str | int, object]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and "\0" in key:
                return (*path, key)
            items.append((key, item))
    elif isinstance(value, list):
        items = list(enumerate(value))
    for key, item in items:
        found = _first_nul(item, (*path, key))
        if found is not None:
            return found
    return None


def hooks(on: object) -> tuple[EventHook, ...]:
    """`on:` of a schema-valid document: a string runs through /bin/sh -c, a list is argv."""
    if not isinstance(on, dict):
        return ()
    return tuple(EventHook(str(event), ("/bin/sh", "-c", command) if isinstance(command, str)
                           else tuple(str(part) for part in command))
                 for event, command in on.items())


def _workspace_env(ctx: _File, data: dict[str, Any]) -> dict[str, str]:
    env = _env_values(ctx, data.get("env") or {}, ("env",))
    files = data.get("env_file")
    entries = [files] if isinstance(files, str) else list(files or [])
    for i, entry in enumerate(entries):
        path: YamlPath = ("env_file",) if isinstance(files, str) else ("env_file", i)
        env.update(_read_env_file(ctx, entry, path))
    return env


def _read_env_file(ctx: _File, entry: str, path: YamlPath) -> dict[str, str]:
    relative = os.path.expanduser(ctx.expand(entry, path))
    target = os.path.join(os.path.dirname(ctx.doc.file), relative)
    ctx.env_files.append(os.path.abspath(target))  # a missing one too: creating it is a change
    try:
        text = read_limited(Path(target), target).decode("utf-8")
        if "\0" in text:
            raise ctx.fail(path, f"env file {target} contains a NUL character (\\0)")
        pairs = parse_env_file(text, ctx.environ)
    except ConfigError as exc:
        raise ctx.fail(path, f"env file {target}: {exc.problems[0].message}") from None
    except UnicodeDecodeError:
        raise ctx.fail(path, f"env file {target} is not UTF-8 text") from None
    except InterpolationError as exc:
        raise ctx.fail(path, f"env file {target}: {exc}") from None
    return {key: value for _, key, value in pairs}


def _env_values(ctx: _File, env: dict[str, Any], path: YamlPath) -> dict[str, str]:
    """Each value interpolated; a bad one is recorded and the others still checked."""
    result = {}
    for key, value in env.items():
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        try:
            result[key] = ctx.expand(text, (*path, key))
        except _Invalid as exc:
            ctx.problems.append(exc.problem)
    return result


def _directory(ctx: _File, value: object, path: YamlPath, base: str) -> str:
    if value is None:
        return os.path.normpath(os.path.abspath(base))
    expanded = os.path.expanduser(ctx.expand(str(value), path))
    return os.path.normpath(os.path.abspath(os.path.join(base, expanded)))


def signal_name(value: object) -> str | None:
    """`TERM`, `SIGTERM`, `term` or 15 -> "TERM"; None when it is no signal of this system."""
    try:
        if isinstance(value, int) and not isinstance(value, bool):
            return signal.Signals(value).name.removeprefix("SIG")
    except ValueError:
        return None
    if not isinstance(value, str):
        return None
    name = value.strip().upper().removeprefix("SIG")
    found = getattr(signal, f"SIG{name}", None)
    return name if isinstance(found, signal.Signals) else None


class _Process:
    """One process: its own keys over the file's defaults, located in whichever holds them."""

    def __init__(self, ctx: _File, workspace: str, name: str, own: dict[str, Any],
                 defaults: dict[str, Any]) -> None:
        self.ctx, self.workspace, self.name = ctx, workspace, name
        self.own, self.defaults = own, defaults
        merged = deep_merge(defaults, own)
        self.data: dict[str, Any] = merged if isinstance(merged, dict) else {}

    @property
    def id(self) -> str:
        return f"{self.workspace}:{self.name}"

    def path(self, *rest: str | int) -> YamlPath:
        """The document path holding `rest`: the process's own, else `defaults`."""
        if has_path(self.own, rest) or not has_path(self.defaults, rest):
            return ("processes", self.name, *rest)
        return ("defaults", *rest)

    def fail(self, message: str, *rest: str | int, key: bool = False) -> _Invalid:
        return self.ctx.fail(self.path(*rest), message, key=key)

    def build(self, ws_cwd: str, ws_env: dict[str, str], backend: BackendName,
              layout: Layout, ws_hooks: tuple[EventHook, ...] = ()) -> ProcessSpec:
        d = self.data
        env = dict(ws_env)
        env.update(_env_values(self.ctx, d.get("env") or {}, self.path("env")))
        return ProcessSpec(
            workspace=self.workspace, name=self.name,
            command=self.command(), shell=bool(d.get("shell", False)), claude=self.claude(),
            cwd=_directory(self.ctx, d.get("cwd"), self.path("cwd"), ws_cwd),
            env=tuple(sorted(env.items())),
            backend=BackendName(d["backend"]) if "backend" in d else backend, layout=layout,
            autostart=bool(d.get("autostart", True)),
            restart=RestartPolicy(d.get("restart", "on-failure")),
            start_secs=self.duration(
                d.get("start_secs", AGENT_START_SECS if "claude" in d else 1), "start_secs"),
            max_restarts=int(d.get("max_restarts", 5)),
            backoff=self.backoff(d.get("backoff") or {}),
            stop_signal=self.stop_signal(),
            stop_timeout=self.duration(d.get("stop_timeout", 10), "stop_timeout"),
            depends_on=self.depends_on(), health=self.health(), pane=self.pane(),
            worktree=self.worktree(), on=(*ws_hooks, *hooks(self.data.get("on"))),
            source=self.ctx.doc.where(("processes", self.name), key=True),
        )

    def backoff(self, b: dict[str, Any]) -> Backoff:
        return Backoff(initial=self.duration(b.get("initial", 0.5), "backoff", "initial"),
                       max=self.duration(b.get("max", 30), "backoff", "max"),
                       factor=float(b.get("factor", 2)),
                       reset_after=self.duration(b.get("reset_after", 60), "backoff",
                                                 "reset_after"))

    def duration(self, value: object, *rest: str | int) -> float:
        try:
            return units.parse_duration(value)
        except units.UnitError as exc:
            raise self.fail(str(exc), *rest) from None

    def command(self) -> tuple[str, ...]:
        d = self.data
        if ("command" in d) == ("claude" in d):
            what = "has both `command` and `claude`; use one" if "command" in d else \
                "needs `command` (a program to run) or `claude` (a Claude Code agent)"
            raise self.ctx.fail(("processes", self.name), what, key=True)
        command = d.get("command")
        if command is None:
            return ()
        if isinstance(command, list):
            if d.get("shell"):
                raise self.fail("`shell: true` needs the command as one string", "command")
            return tuple(str(part) for part in command)
        if d.get("shell"):
            return ("/bin/sh", "-c", str(command))
        return self.split(str(command), "command")

    def split(self, text: str, *rest: str | int) -> tuple[str, ...]:
        try:
            argv = tuple(shlex.split(text))
        except ValueError as exc:
            raise self.fail(f"cannot split {text!r} into words: {exc}", *rest) from None
        if not argv:
            raise self.fail("must not be empty", *rest)
        return argv

    def claude(self) -> ClaudeSpec | None:
        c = self.data.get("claude")
        if c is None:
            return None
        lists = {k: tuple(c.get(k, ())) for k in
                 ("allowed_tools", "disallowed_tools", "add_dirs", "args")}
        return ClaudeSpec(
            binary=c.get("binary"), prompt=c.get("prompt"), model=c.get("model"),
            permission_mode=c.get("permission_mode"),
            append_system_prompt=c.get("append_system_prompt"), mcp_config=c.get("mcp_config"),
            resume=c.get("resume", "auto"), hooks=bool(c.get("hooks", True)), **lists,
        )

    def stop_signal(self) -> str:
        value = self.data.get("stop_signal", "TERM")
        name = signal_name(value)
        if name is None:
            raise self.fail(f"{value!r} is not a signal; use a name like TERM, INT, HUP, "
                            "QUIT or KILL", "stop_signal")
        return name

    def depends_on(self) -> tuple[Dependency, ...]:
        raw = self.data.get("depends_on") or []
        items = [(n, None) for n in raw] if isinstance(raw, list) else list(raw.items())
        deps = []
        for target, options in items:
            full = target if ":" in target else f"{self.workspace}:{target}"
            condition = DependencyCondition((options or {}).get("condition", "started"))
            deps.append(Dependency(full, condition))
        return tuple(deps)

    def health(self) -> tuple[HealthProbe, ...]:
        return tuple(self.probe(p, i) for i, p in enumerate(self.data.get("health") or []))

    def probe(self, p: dict[str, Any], i: int) -> HealthProbe:
        command = p.get("command")
        argv = tuple(command) if isinstance(command, list) else \
            (self.split(command, "health", i, "command") if command else None)
        size = p.get("max_rss")
        try:
            max_bytes = None if size is None else units.parse_size(size)
        except units.UnitError as exc:
            raise self.fail(str(exc), "health", i, "max_rss") from None
        duration = p.get("duration")
        return HealthProbe(
            kind=p["kind"], interval=self.duration(p.get("interval", 10), "health", i, "interval"),
            timeout=self.duration(p.get("timeout", 5), "health", i, "timeout"),
            retries=int(p.get("retries", 3)),
            start_period=self.duration(p.get("start_period", 0), "health", i, "start_period"),
            action=p.get("action", "mark"), command=argv, url=p.get("url"),
            host=p.get("host", "127.0.0.1"), port=p.get("port"), pattern=p.get("pattern"),
            duration=None if duration is None else self.duration(duration, "health", i,
                                                                 "duration"),
            max_bytes=max_bytes, options=json.dumps(p.get("options") or {}, sort_keys=True),
        )

    def pane(self) -> PaneSpec:
        p = self.data.get("pane") or {}
        size = p.get("size")
        return PaneSpec(split=p.get("split"), size=None if size is None else str(size),
                        domain=p.get("domain"))

    def worktree(self) -> WorktreeSpec | None:
        w = self.data.get("worktree")
        if w is None or w is False:
            return None
        if w is True:
            return WorktreeSpec()
        return WorktreeSpec(branch=w.get("branch"), base=w.get("base"), path=w.get("path"))

