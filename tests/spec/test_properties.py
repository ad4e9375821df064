"""Whatever the input, the loader answers with located problems, never another exception."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from wezparallel.errors import ConfigError
from wezparallel.spec.depgraph import _strong_components
from wezparallel.spec.loader import LoadResult, load_paths
from wezparallel.spec.yamlsource import parse_document

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**20),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12))
anything = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=20)

KEYS = ["command", "shell", "claude", "cwd", "env", "backend", "autostart", "restart",
        "start_secs", "max_restarts", "backoff", "stop_signal", "stop_timeout", "depends_on",
        "health", "pane", "worktree", "restrat"]
VALUES = st.one_of(
    anything,
    st.sampled_from(["sleep 1", "echo 'x", "", "250ms", "5x", "TERM", "NOPE", "always",
                     "${X:-y}", "${X:?no}", "${", "~/x", "..", ["a"], [], {"a": {}},
                     {"initial": "1s", "factor": 0.5}, [{"kind": "http"}], ["a", "b", "c"],
                     {"prompt": "p"}, True, 15, -1]),
)
processes = st.dictionaries(st.sampled_from(["a", "b", "c", "A", "x:y"]),
                            st.one_of(st.none(), st.dictionaries(st.sampled_from(KEYS), VALUES,
                                                                 max_size=6)), max_size=4)
workspaces = st.fixed_dictionaries(
    {"workspace": st.one_of(st.sampled_from(["w", "v", "Bad Name"]), anything)},
    optional={"processes": processes, "defaults": st.dictionaries(st.sampled_from(KEYS), VALUES,
                                                                  max_size=3),
              "env": st.one_of(anything, st.dictionaries(st.sampled_from(["A", "b"]), VALUES)),
              "env_file": st.sampled_from(["missing.env", ".", "/proc/self/mem", []]),
              "cwd": VALUES, "layout": VALUES, "backend": VALUES, "x-any": anything},
)


def check(result: LoadResult) -> None:
    for p in result.problems:
        assert p.line >= 1 and p.column >= 1 and p.message
        assert "internal error" not in p.message, p
    assert not set(result.workspaces) & result.invalid_files


def load_text(files: dict[str, bytes]) -> LoadResult:
    with tempfile.TemporaryDirectory() as tmp:
        for name, raw in files.items():
            Path(tmp, name).write_bytes(raw)
        return load_paths([Path(tmp)], {"X": "1"})


@SETTINGS
@given(st.binary(max_size=400))
def test_arbitrary_bytes(raw):
    try:
        parse_document(raw, "f.yaml")
    except ConfigError as exc:
        assert exc.problems
    check(load_text({"w.yaml": raw}))


@SETTINGS
@given(st.text(alphabet="ab:-[]{}&*!|>'\"#%@`,?\n\t x1", max_size=120))
def test_yaml_punctuation_soup(text):
    check(load_text({"w.yaml": text.encode()}))


@SETTINGS
@given(anything)
def test_arbitrary_documents(data):
    check(load_text({"w.yaml": json.dumps(data).encode()}))


@SETTINGS
@given(workspaces, workspaces)
def test_near_valid_workspaces_with_overlay(base, overlay):
    files = {"w.yaml": yaml.safe_dump(base).encode(),
             "w.local.yaml": yaml.safe_dump(overlay).encode(),
             "v.yaml": b"workspace: v\nprocesses:\n  a: {command: sleep 1}\n"}
    result = load_text(files)
    check(result)
    for spec in result.workspaces.values():
        for proc in spec.processes:
            assert os.path.isabs(proc.cwd)
            assert list(proc.env) == sorted(proc.env)
            assert bool(proc.command) != (proc.claude is not None)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from("abcdef"), st.lists(st.sampled_from("abcdef"),
                                                           max_size=3), max_size=6))
def test_cycle_finder_agrees_with_reachability(graph):
    edges = {n: [t for t in ts if t in graph] for n, ts in graph.items()}

    def reaches(src: str, dst: str) -> bool:
        seen, todo = set(), list(edges[src])
        while todo:
            node = todo.pop()
            if node == dst:
                return True
            if node not in seen:
                seen.add(node)
                todo.extend(edges[node])
        return False

    components = _strong_components(edges)
    assert sorted(n for c in components for n in c) == sorted(edges)
    for component in components:
        for a in component:
            assert all(reaches(a, b) for b in component if b != a)
    on_cycle = {n for c in components for n in c if len(c) > 1 or n in edges[n]}
    assert on_cycle == {n for n in edges if reaches(n, n)}


# Schema-valid values, some of them wrong in ways only the model stage can see.
FIELD_VALUES = {
    "command": st.sampled_from(["sleep 1", "echo 'unclosed", "  ", ["a", "b"], "${X}"]),
    "shell": st.booleans(),
    "claude": st.sampled_from([{}, {"prompt": "p", "model": "m"}, {"resume": "never"}]),
    "cwd": st.sampled_from(["sub", "~", "/abs", "${X:-d}", "${X:?}", "${Y:?need Y}"]),
    "env": st.dictionaries(st.sampled_from(["A", "B"]),
                           st.sampled_from(["v", "${X}", "${", 3, True]), max_size=2),
    "restart": st.sampled_from(["always", "never"]),
    "start_secs": st.sampled_from([0, "1s", "250ms", 1.5]),
    "stop_signal": st.sampled_from(["TERM", "SIGINT", "kill", "NOPE", 9, 0, 999]),
    "depends_on": st.one_of(st.lists(st.sampled_from(["a", "b", "c", "v:a", "v:zz", "q:a"]),
                                     max_size=3),
                            st.dictionaries(st.sampled_from(["a", "b"]),
                                            st.sampled_from([None, {"condition": "healthy"}]))),
    "health": st.lists(st.sampled_from([
        {"kind": "exec", "command": "true"}, {"kind": "exec", "command": "'x"},
        {"kind": "memory", "max_rss": "1GiB"}, {"kind": "idle", "duration": "5m"}]),
        max_size=2),
    "worktree": st.sampled_from([True, False, {"branch": "b"}]),
}
process = st.fixed_dictionaries({}, optional=FIELD_VALUES)


@SETTINGS
@given(st.dictionaries(st.sampled_from(["a", "b", "c"]), process, max_size=3), process)
def test_schema_valid_workspaces_reach_the_model(procs, defaults):
    doc = {"workspace": "w", "processes": procs, "defaults": defaults}
    files = {"w.yaml": yaml.safe_dump(doc).encode(),
             "v.yaml": b"workspace: v\nprocesses:\n  a: {command: sleep 1, depends_on: [w:a]}\n"}
    result = load_text(files)
    check(result)
    event(f"w valid: {any(s.name == 'w' for s in result.workspaces.values())}")
    assert all("unknown key" not in p.message for p in result.problems)
