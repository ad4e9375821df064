"""`depends_on` across the whole conf dir: dangling references to other workspaces and cycles.

Pure graph work on already-built specs; each problem is placed on the `depends_on` entry that
names the edge, so the user sees exactly which line closes a cycle.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from wezparallel.errors import Problem
from wezparallel.spec.model import SourceRef, WorkspaceSpec

DepRefs = Mapping[tuple[str, str], SourceRef]


def check_references(specs: Iterable[WorkspaceSpec], refs: DepRefs,
                     unreadable: set[str]) -> list[Problem]:
    """Dependencies on other workspaces must name a process that exists.

    `unreadable`: names of workspaces whose file is invalid right now; their processes cannot
    be known, so references to them are not judged.
    """
    specs = list(specs)
    known = {p.id for ws in specs for p in ws.processes}
    names = {ws.name for ws in specs}
    problems = []
    for ws in specs:
        for proc in ws.processes:
            for dep in proc.depends_on:
                owner = dep.process.partition(":")[0]
                if owner == ws.name or owner in unreadable or dep.process in known:
                    continue
                ref = refs.get((proc.id, dep.process), proc.source)
                why = "which does not exist" if owner in names else \
                    f"and there is no workspace `{owner}`"
                problems.append(Problem(ref.file, ref.line, ref.column,
                                        f"`{proc.id}` depends on `{dep.process}`, {why}"))
    return problems


def check_cycles(specs: Iterable[WorkspaceSpec], refs: DepRefs) -> list[Problem]:
    """One problem per edge inside each strongly connected component (a cycle)."""
    procs = {p.id: p for ws in specs for p in ws.processes}
    edges = {pid: [d.process for d in p.depends_on if d.process in procs]
             for pid, p in procs.items()}
    problems = []
    for component in _strong_components(edges):
        members = set(component)
        if len(component) == 1 and component[0] not in edges[component[0]]:
            continue
        listed = ", ".join(sorted(members))
        for pid in sorted(members):
            for dep in edges[pid]:
                if dep in members:
                    ref = refs.get((pid, dep), procs[pid].source)
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
