"""`depends_on` across the whole conf dir: unknown processes, missing workspaces and cycles.

The graph is read from each file's raw document, not from its finished spec, so a file with an
unrelated mistake (a typo the schema caught, a bad signal name) still has its dependencies
checked in the same run: fixing one problem must not reveal the next one. Each problem is
placed on the `depends_on` entry that names the edge, so the user sees exactly which line
closes a cycle.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from wezparallel.errors import Problem
from wezparallel.spec.merge import deep_merge, has_path
from wezparallel.spec.model import SourceRef
from wezparallel.spec.yamlsource import Document, YamlPath


@dataclass(frozen=True)
class Edge:
    source: str  # the process id that depends
    target: str  # the id it depends on, `WORKSPACE:NAME`
    ref: SourceRef  # the `depends_on` entry naming it


@dataclass(frozen=True)
class Graph:
    """The processes of one workspace file and what each depends on."""

    workspace: str
    processes: tuple[str, ...]  # names
    edges: tuple[Edge, ...]


def graph_of(doc: Document) -> Graph | None:
    """What a (possibly schema-invalid) document says about dependencies; None when it does
    not even say which processes it has. Entries of the wrong type are skipped: the schema
    reports them."""
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("workspace"), str):
        return None
    processes = data.get("processes") or {}
    if not isinstance(processes, dict):
        return None
    workspace = data["workspace"]
    raw_defaults = data.get("defaults")
    defaults = raw_defaults if isinstance(raw_defaults, dict) else {}
    edges: list[Edge] = []
    for name, own in processes.items():
        own = own if isinstance(own, dict) else {}
        edges += _edges(doc, workspace, str(name), own, defaults)
    return Graph(workspace, tuple(str(n) for n in processes), tuple(edges))


def _edges(doc: Document, workspace: str, name: str, own: dict[str, Any],
           defaults: dict[str, Any]) -> list[Edge]:
    merged = deep_merge(defaults, own)
    raw = merged.get("depends_on") if isinstance(merged, dict) else None
    if isinstance(raw, list):
        items: list[tuple[object, str | int]] = [(t, i) for i, t in enumerate(raw)]
    elif isinstance(raw, dict):
        items = [(t, t) for t in raw]
    else:
        return []
    edges = []
    for target, at in items:
        if not isinstance(target, str) or not target:
            continue
        rest: YamlPath = ("depends_on", at)
        path = ("processes", name, *rest) if has_path(own, rest) or not has_path(
            defaults, rest) else ("defaults", *rest)
        full = target if ":" in target else f"{workspace}:{target}"
        edges.append(Edge(f"{workspace}:{name}", full,
                          doc.where(path, key=isinstance(raw, dict))))
    return edges


def check_references(graphs: Iterable[Graph], unreadable: set[str]) -> list[Problem]:
    """Every dependency must name a process that exists.

    `unreadable`: names of workspaces whose file cannot be read right now; their processes
    cannot be known, so references to them are not judged.
    """
    graphs = list(graphs)
    known = {f"{g.workspace}:{p}" for g in graphs for p in g.processes}
    names = {g.workspace for g in graphs}
    problems = []
    for g in graphs:
        for edge in g.edges:
            owner, _, wanted = edge.target.partition(":")
            if edge.target in known or (owner in unreadable and owner != g.workspace):
                continue
            if owner == g.workspace:
                close = difflib.get_close_matches(wanted, g.processes, n=1, cutoff=0.6)
                hint = f"; did you mean `{close[0]}`?" if close else ""
                why = f"`{wanted}`, which is no process of workspace `{owner}`{hint}"
            elif owner in names:
                why = f"`{edge.target}`, which does not exist"
            else:
                why = f"`{edge.target}`, and there is no workspace `{owner}`"
            problems.append(Problem(edge.ref.file, edge.ref.line, edge.ref.column,
                                    f"`{edge.source}` depends on {why}"))
    return problems


def check_cycles(graphs: Iterable[Graph]) -> list[Problem]:
    """One problem per edge inside each strongly connected component (a cycle)."""
    graphs = list(graphs)
    procs = {f"{g.workspace}:{p}" for g in graphs for p in g.processes}
    edges: dict[str, list[str]] = {pid: [] for pid in procs}
    refs: dict[tuple[str, str], SourceRef] = {}
    for g in graphs:
        for edge in g.edges:
            if edge.source in procs and edge.target in procs:
                edges[edge.source].append(edge.target)
                refs.setdefault((edge.source, edge.target), edge.ref)
    problems = []
    for component in _strong_components(edges):
        members = set(component)
        if len(component) == 1 and component[0] not in edges[component[0]]:
            continue
        listed = ", ".join(sorted(members))
        for pid in sorted(members):
            for dep in dict.fromkeys(edges[pid]):
                if dep in members:
                    ref = refs[(pid, dep)]
                    problems.append(Problem(
                        ref.file, ref.line, ref.column,
                        f"dependency cycle: `{pid}` depends on `{dep}` (cycle among {listed})"))
    return problems


def _strong_components(edges: Mapping[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative so a long chain cannot exhaust the stack."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            targets = edges[node]
            if child < len(targets):
                work.append((node, child + 1))
                nxt = targets[child]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(component)
    return components
