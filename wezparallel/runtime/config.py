"""The desired state as the daemon holds it: per file, its newest *valid* version.

A save that breaks a file must never touch what that file runs, so the file's last good
workspace stays in force while the new problems are reported. A file that was never valid
contributes nothing; a deleted file contributes nothing.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from wezparallel.errors import Problem
from wezparallel.runtime.lastgood import LastGood
from wezparallel.spec.model import ProcessSpec, WorkspaceSpec

if TYPE_CHECKING:
    from wezparallel.spec.loader import LoadResult

log = logging.getLogger(__name__)

# Per file the config was read from: name, inode, size, modification time (ns).
Stamp = tuple[tuple[str, int, int, int], ...]


@dataclass(frozen=True)
class ConfigSnapshot:
    """The workspaces in force, the problems of the last load, and when it happened."""

    workspaces: Mapping[str, WorkspaceSpec] = field(default_factory=dict)  # by file
    problems: tuple[Problem, ...] = ()
    loaded_at: float | None = None  # wall clock
    env_files: frozenset[str] = frozenset()  # absolute; the watcher follows those elsewhere
    stamp: Stamp = ()  # of the files as they were just before they were read

    def processes(self) -> dict[str, ProcessSpec]:
        return {p.id: p for ws in self.workspaces.values() for p in ws.processes}


def load(conf_dir: Path, environ: Mapping[str, str], previous: ConfigSnapshot,
         wall_now: float, probe_kinds: frozenset[str] = frozenset(),
         kept: LastGood | None = None,
         more_kinds: Callable[[], frozenset[str]] | None = None) -> ConfigSnapshot:
    """Read the conf dir and keep each broken file's last good version: the one in force,
    or for a daemon that just started, the one `kept` on disk by an earlier daemon.
    `probe_kinds`: the plugin probe kinds known so far; `more_kinds` (discovering plugins)
    is asked only when a file names a kind beyond them, and then the files are read again."""
    from wezparallel.spec.loader import load_conf_dir  # jsonschema only in the daemon

    def read(kinds: frozenset[str]) -> LoadResult:
        return load_conf_dir(conf_dir, environ, kinds)

    before = stamp(conf_dir, previous.env_files)
    result = _with_kinds(read, probe_kinds, more_kinds)
    workspaces = dict(result.workspaces)
    for path in result.invalid_files:
        if path in workspaces or not _still_exists(path):
            continue
        good = previous.workspaces.get(path) or _recall(kept, path, environ, probe_kinds,
                                                        more_kinds)
        if good is not None:
            workspaces[path] = good
    _drop_duplicate_names(workspaces, previous)
    if kept is not None:
        kept.remember(result.sources)
        for path in previous.workspaces.keys() - workspaces.keys():
            if not _still_exists(path):
                kept.forget(path)
    if result.env_files != previous.env_files:  # files the last read did not know of
        before = stamp(conf_dir, result.env_files)
    return ConfigSnapshot(workspaces, result.problems, wall_now, result.env_files, before)


def stamp(conf_dir: Path, env_files: Iterable[str] = ()) -> Stamp:
    """What the workspace files and env files look like on disk, cheaply (no reads): a save
    made between a read and the start of the file watcher shows as a different stamp.
    Symlinks are followed, so a swapped `..data` link of mounted config counts too."""
    from wezparallel.spec.loader import is_workspace_file  # loaded already by the read

    try:
        names = [os.path.join(conf_dir, n) for n in os.listdir(conf_dir) if is_workspace_file(n)]
    except OSError:
        names = []
    out = []
    for name in sorted([*names, *env_files]):
        try:
            info = os.stat(name)
        except OSError:
            continue
        out.append((name, info.st_ino, info.st_size, info.st_mtime_ns))
    return tuple(out)


def _with_kinds(read: Callable[[frozenset[str]], LoadResult], kinds: frozenset[str],
                more: Callable[[], frozenset[str]] | None) -> LoadResult:
    """A read that names no kind beyond `kinds` stands; another is read again with those
    `more` adds, so that it says what a read knowing them from the start would have said."""
    result = read(kinds)
    if result.unknown_probe_kinds and more is not None:
        wider = kinds | more()
        if wider != kinds:
            return read(wider)
    return result


def _recall(kept: LastGood | None, path: str, environ: Mapping[str, str],
            probe_kinds: frozenset[str],
            more_kinds: Callable[[], frozenset[str]] | None) -> WorkspaceSpec | None:
    from wezparallel.spec.loader import load_saved

    saved = kept.recall(path) if kept is not None else None
    if saved is None:
        return None

    def read(kinds: frozenset[str]) -> LoadResult:
        return load_saved({path: saved}, environ, kinds)

    workspace = _with_kinds(read, probe_kinds, more_kinds).workspaces.get(path)
    if workspace is not None:
        log.warning("%s is broken: running its last good version, kept by an earlier daemon",
                    path)
    return workspace


def _still_exists(path: str) -> bool:
    return Path(path).is_file()


def _drop_duplicate_names(workspaces: dict[str, WorkspaceSpec],
                          previous: ConfigSnapshot) -> None:
    """A kept-last-good file and a new file may now claim the same workspace name; the
    version already running wins, so nothing that runs is disturbed by the clash."""
    seen: dict[str, str] = {}
    for path in sorted(workspaces, key=lambda p: (p not in previous.workspaces, p)):
        name = workspaces[path].name
        if name in seen:
            del workspaces[path]
        else:
            seen[name] = path
