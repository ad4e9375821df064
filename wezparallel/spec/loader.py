"""Workspace files -> located problems and frozen specs, for the whole conf dir in one pass.

    file bytes -> YAML with positions (yamlsource) -> NAME.local.yaml overlay (merge)
      -> JSON Schema (schema) -> model (resolve) -> cross-file rules (here, depgraph)

A file with any problem contributes no workspace; the daemon keeps its last good version.
Nothing but `ConfigError` leaves this module, whatever the input: every failure of a file
becomes a `Problem` of that file, so one broken file never hides the others' problems. Nor
does one stage hide the next: after a schema problem, the processes the schema found nothing
wrong with are still resolved, and every file that parses takes part in the dependency checks.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from wezparallel.errors import ConfigError, Problem
from wezparallel.spec import depgraph, schema
from wezparallel.spec.merge import overlay_documents
from wezparallel.spec.model import SourceRef, WorkspaceSpec
from wezparallel.spec.resolve import resolve_workspace
from wezparallel.spec.yamlsource import Document, YamlPath, parse_document, read_limited

log = logging.getLogger(__name__)

SUFFIXES = (".yaml", ".yml")
LOCAL_SUFFIXES = (".local.yaml", ".local.yml")
_NAME_LINE = re.compile(r"""^workspace:[ \t]*["']?([a-z0-9][a-z0-9_-]*)["']?[ \t]*(#.*)?$""",
                        re.MULTILINE)


@dataclass(frozen=True)
class LoadResult:
    workspaces: dict[str, WorkspaceSpec]  # file path (as given) -> spec; fully valid files only
    problems: tuple[Problem, ...]  # every problem of every file, located
    invalid_files: frozenset[str]  # files that had problems
    env_files: frozenset[str] = frozenset()  # absolute paths of the env files the files name
    sources: Mapping[str, Mapping[str, bytes]] = field(default_factory=dict)
    """Per valid file, the bytes it was built from: its own and its overlay's, by name."""
    unknown_probe_kinds: frozenset[str] = frozenset()
    """Health probe kinds the files name that are neither built in nor in `probe_kinds`:
    the daemon reads again with its plugins' kinds (discovering them) only when there are."""

    @property
    def ok(self) -> bool:
        return not self.problems

    def process_count(self) -> int:
        return sum(len(ws.processes) for ws in self.workspaces.values())


@dataclass
class _Unit:
    """One workspace file, with the `.local` overlay beside it if there is one."""

    file: str
    path: Path
    overlay: tuple[str, Path] | None = None
    name: str | None = None  # the `workspace:` value, when it could be read
    name_ref: SourceRef | None = None
    spec: WorkspaceSpec | None = None
    problems: list[Problem] = field(default_factory=list)
    graph: depgraph.Graph | None = None  # None: the file does not say what it runs
    duplicate: bool = False  # another file defines the same workspace first
    env_files: list[str] = field(default_factory=list)
    raw: dict[str, bytes] = field(default_factory=dict)  # by file name: what was read
    unknown_kinds: set[str] = field(default_factory=set)  # probe kinds the schema refused


def load_conf_dir(conf_dir: Path, environ: Mapping[str, str],
                  probe_kinds: frozenset[str] = frozenset()) -> LoadResult:
    """Every `*.yaml`/`*.yml` file of `conf_dir` (not hidden), overlays applied.
    `probe_kinds`: health probe kinds that plugins provide, valid besides the built-in ones."""
    return load_paths([conf_dir], environ, probe_kinds)


def load_paths(paths: Sequence[Path], environ: Mapping[str, str],
               probe_kinds: frozenset[str] = frozenset()) -> LoadResult:
    """Files and/or directories; problems of all files are collected in one pass."""
    stray: list[Problem] = []
    return _load_units(_units(paths, stray), environ, stray, probe_kinds)


def load_saved(saved: Mapping[str, Mapping[str, bytes]], environ: Mapping[str, str],
               probe_kinds: frozenset[str] = frozenset()) -> LoadResult:
    """Files from bytes kept earlier (`LoadResult.sources`), named and resolved as the files
    they were read from: a broken file's last good version, for a daemon that restarted
    while it is broken. Rules between files were checked when the bytes were good."""
    units = []
    for file, texts in sorted(saved.items()):
        overlay = next((name for name in texts if name != file), None)
        units.append(_Unit(file, Path(file), (overlay, Path(overlay)) if overlay else None,
                           raw=dict(texts)))
    return _load_units(units, environ, [], probe_kinds, cross_file=False)


def _load_units(units: list[_Unit], environ: Mapping[str, str], stray: list[Problem],
                probe_kinds: frozenset[str], *, cross_file: bool = True) -> LoadResult:
    for unit in units:
        try:
            _load_unit(unit, environ, probe_kinds)
        except ConfigError as exc:
            unit.problems.extend(exc.problems)
        except Exception as exc:  # a bug must not take the daemon down with one bad file
            log.exception("internal error while loading %s", unit.file)
            unit.problems.append(Problem(unit.file, 1, 1,
                                         f"internal error while loading this file: {exc!r}"))
    if cross_file:
        _cross_file(units)
    problems = stray + [p for u in units for p in u.problems]
    invalid = {p.file for p in problems}
    for unit in units:
        if unit.problems:
            invalid.add(unit.file)
            if unit.overlay:
                invalid.add(unit.overlay[0])
    workspaces = {u.file: u.spec for u in units if u.spec is not None and not u.problems}
    problems.sort(key=lambda p: (p.file, p.line, p.column))
    env_files = frozenset(f for u in units for f in u.env_files)
    sources = {u.file: u.raw for u in units if u.file in workspaces}
    unknown_kinds = frozenset(k for u in units for k in u.unknown_kinds)
    return LoadResult(workspaces, tuple(problems), frozenset(invalid), env_files, sources,
                      unknown_kinds)


def _units(paths: Sequence[Path], stray: list[Problem]) -> list[_Unit]:
    files: dict[str, Path] = {}
    for given in paths:
        shown = str(given)
        if os.path.isdir(given):
            for entry in _directory_entries(given, stray):
                files.setdefault(os.path.join(shown, entry), given / entry)
        elif os.path.lexists(given):
            files.setdefault(shown, given)
        else:
            stray.append(Problem(shown, 1, 1, "no such file or directory"))
    units: dict[str, _Unit] = {}
    overlays: dict[str, tuple[str, Path]] = {}
    for shown, path in sorted(files.items()):
        base_name = _base_of_overlay(path.name)
        if base_name is None:
            units.setdefault(shown, _Unit(shown, path))
            continue
        base = _sibling(shown, path, base_name)
        if base is None:
            stray.append(Problem(shown, 1, 1, f"overlay without a base file: expected "
                                 f"{base_name}.yaml (or .yml) beside it"))
        else:
            units.setdefault(base[0], _Unit(*base))
            overlays[base[0]] = (shown, path)
    for unit in units.values():
        unit.overlay = overlays.get(unit.file) or _overlay_on_disk(unit)
    return sorted(units.values(), key=lambda u: u.file)


def _directory_entries(directory: Path, stray: list[Problem]) -> list[str]:
    try:
        names = sorted(os.listdir(directory))
    except OSError as exc:
        stray.append(Problem(str(directory), 1, 1, f"cannot list directory: {exc.strerror}"))
        return []
    return [n for n in names if is_workspace_file(n)]


def is_workspace_file(name: str) -> bool:
    """Whether a conf dir entry is read as a workspace file (or an overlay)."""
    return name.endswith(SUFFIXES) and not name.startswith((".", "#"))


def _base_of_overlay(name: str) -> str | None:
    for suffix in LOCAL_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return None


def _sibling(shown: str, path: Path, stem: str) -> tuple[str, Path] | None:
    for suffix in SUFFIXES:
        candidate = path.with_name(stem + suffix)
        if os.path.lexists(candidate):
            return os.path.join(os.path.dirname(shown), stem + suffix), candidate
    return None


def _overlay_on_disk(unit: _Unit) -> tuple[str, Path] | None:
    stem = unit.path.name.rsplit(".", 1)[0]
    for suffix in LOCAL_SUFFIXES:
        candidate = unit.path.with_name(stem + suffix)
        if os.path.lexists(candidate):
            return os.path.join(os.path.dirname(unit.file), stem + suffix), candidate
    return None


def _load_unit(unit: _Unit, environ: Mapping[str, str], probe_kinds: frozenset[str]) -> None:
    doc = _read(unit)
    if doc is None:
        return
    name = doc.data.get("workspace") if isinstance(doc.data, dict) else None
    if isinstance(name, str):
        unit.name, unit.name_ref = name, doc.where(("workspace",))
    unit.graph = depgraph.graph_of(doc)
    problems, blamed, unit.unknown_kinds = schema.check_blamed(doc, probe_kinds)
    unit.problems.extend(problems)
    skip = _processes_to_skip(blamed)
    if skip is None:
        return
    resolved = resolve_workspace(doc, environ, skip)
    unit.problems.extend(resolved.problems)
    unit.spec, unit.env_files = resolved.spec, resolved.env_files


def _processes_to_skip(blamed: set[YamlPath]) -> frozenset[str] | None:
    """The processes a schema problem lies in; None when one lies in what every process
    depends on (`defaults`, `env`, `cwd`...), so that nothing can be resolved. An unknown
    top-level key or a bad `description` harms nothing: the resolver never reads them."""
    skip = set()
    top = set(schema.schema().get("properties", {})) - {"description"}
    for path in blamed:
        if len(path) >= 2 and path[0] == "processes":
            skip.add(str(path[1]))
        elif not path or path[0] in top:
            return None
    return frozenset(skip)


def _read(unit: _Unit) -> Document | None:
    docs = []
    for shown, path in [(unit.file, unit.path), *([unit.overlay] if unit.overlay else [])]:
        try:
            raw = unit.raw.get(shown)
            if raw is None:
                raw = unit.raw[shown] = read_limited(path, shown)
            doc = parse_document(raw, shown)
        except ConfigError as exc:
            unit.problems.extend(exc.problems)
            if path == unit.path:
                unit.name = _guess_name(path)
            continue
        if not isinstance(doc.data, dict):
            what = "the file is empty" if doc.data is None else \
                f"the file holds {schema.type_name(doc.data)}"
            ref = doc.where(())
            unit.problems.append(Problem(shown, ref.line, ref.column,
                                         f"expected a mapping with `workspace:` and "
                                         f"`processes:`, but {what}"))
            continue
        docs.append(doc)
    if unit.problems:
        return None
    return overlay_documents(docs[0], docs[1]) if len(docs) == 2 else docs[0]


def _guess_name(path: Path) -> str | None:
    """The `workspace:` of a file that does not parse, so that other files' dependencies on
    it are not reported as dangling while it is being edited."""
    try:
        text = read_limited(path, str(path)).decode("utf-8", "replace")
    except ConfigError:
        return None
    match = _NAME_LINE.search(text)
    return match.group(1) if match else None


def _cross_file(units: list[_Unit]) -> None:
    """Duplicate names (the later file loses), then dependencies between workspaces."""
    first: dict[str, _Unit] = {}
    for unit in units:
        if unit.name is None:
            continue
        if unit.name in first:
            unit.duplicate = True
            ref = unit.name_ref or SourceRef(unit.file)
            unit.problems.append(Problem(ref.file, ref.line, ref.column,
                                         f"workspace `{unit.name}` is already defined in "
                                         f"{first[unit.name].file}"))
        else:
            first[unit.name] = unit
    graphs = [u.graph for u in units if u.graph is not None and not u.duplicate]
    unreadable = {u.name for u in units if u.name and u.graph is None}
    found = depgraph.check_references(graphs, unreadable) + depgraph.check_cycles(graphs)
    owners = {f: u for u in units for f in (u.file, *(u.overlay[:1] if u.overlay else ()))}
    for problem in found:  # each names an entry in the file of the process that depends
        owners.get(problem.file, units[0]).problems.append(problem)
