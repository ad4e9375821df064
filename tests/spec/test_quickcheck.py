"""The quick schema check against jsonschema: whenever it answers, it answers the same.

`schema.check` trusts the quick check's "valid" without asking jsonschema, so a wrong "valid"
here would let a broken file through. Each test compares with jsonschema itself on real files
(the fixtures, the templates, the bundled conf.d) and on hypothesis' mutations of them, which
are mostly one change away from valid: the cases where a subtle miss would hide."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from tests.spec.fixtures import INVALID, VALID
from wezparallel.errors import ConfigError
from wezparallel.spec import quickcheck
from wezparallel.spec.schema import schema
from wezparallel.spec.yamlsource import parse_document

REPO = Path(__file__).resolve().parents[2]
# overlays (`x.local.yaml`) are partial documents: the schema sees them merged into their base
VALID_FILES = sorted(p for p in [*VALID.glob("*.y*ml"), *(REPO / "conf.d").glob("*.y*ml"),
                                 *(REPO / "wezparallel" / "templates").glob("*.yaml")]
                     if ".local." not in p.name)
INVALID_FILES = sorted(p for p in INVALID.rglob("*.y*ml") if p.is_file())
REFERENCE = Draft202012Validator(schema())


def data_of(path: Path) -> Any:
    return parse_document(path.read_bytes(), str(path)).data


def parsed(paths: list[Path]) -> list[Any]:
    out = []
    for path in paths:
        try:
            out.append(data_of(path))
        except ConfigError:  # a YAML error: the schema never sees it
            continue
    return out


@pytest.mark.parametrize("path", VALID_FILES, ids=lambda p: p.name)
def test_valid_files_take_the_quick_path(path: Path) -> None:
    data = data_of(path)
    assert REFERENCE.is_valid(data)
    assert quickcheck.is_valid(data, schema()) is True


@pytest.mark.parametrize("path", INVALID_FILES, ids=lambda p: str(p.relative_to(INVALID)))
def test_invalid_fixtures_get_the_same_answer(path: Path) -> None:
    try:
        data = data_of(path)
    except ConfigError:
        return  # a YAML error: the schema never sees it
    quick = quickcheck.is_valid(data, schema())
    assert quick is None or quick == REFERENCE.is_valid(data)


def test_an_invalid_fixture_is_judged_by_the_quick_check_at_all() -> None:
    answers = [quickcheck.is_valid(d, schema()) for d in parsed(INVALID_FILES)]
    assert False in answers  # not "unsure" about everything


BASES = parsed(VALID_FILES)
REPLACEMENTS = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 10**6), st.floats(allow_nan=False),
    st.sampled_from(["", "x", "sleep 1", "250ms", "5x", "TERM", "always", "never", "on-failure",
                     "tiled", "columns", "tmux", "auto", "healthy", "http", "exec", "A", "a b",
                     "0", "-1", "restart", "notify", "acceptEdits", "1.5", "~/x", "Bad Name"]),
    st.lists(st.sampled_from(["a", "b", 1, None]), max_size=3),
    st.dictionaries(st.sampled_from(["kind", "url", "command", "a", "prompt", "condition"]),
                    st.sampled_from(["http", "x", 1, True, None]), max_size=2),
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


@st.composite
def mutants(draw: st.DrawFn) -> Any:
    doc = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(1, 2))):
        path = draw(st.sampled_from(_paths(doc)))
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        how = draw(st.sampled_from(["replace", "delete", "add"]))
        if not path:
            continue
        if how == "replace" or not isinstance(parent, dict):
            parent[path[-1]] = draw(REPLACEMENTS)
        elif how == "delete":
            del parent[path[-1]]
        else:
            target = parent[path[-1]]
            if isinstance(target, dict):
                key = draw(st.sampled_from(["restrat", "kind", "x-note", "url", "size",
                                            "condition", "Bad", "prompt"]))
                target[key] = draw(REPLACEMENTS)
    return doc


@settings(max_examples=600, deadline=None)
@given(mutants())
def test_mutated_documents_get_the_same_answer(doc: Any) -> None:
    quick = quickcheck.is_valid(doc, schema())
    event(f"quick: {quick}")
    assert quick is None or quick == REFERENCE.is_valid(doc), doc


@pytest.mark.parametrize(("instance", "node", "expected"), [
    (True, {"type": "integer"}, False),  # YAML's true is a Python int, not a JSON integer
    (2.0, {"type": "integer"}, True),
    (True, {"enum": [1]}, False),
    (1, {"const": 1.0}, True),
    ({"a": 1}, {"type": "object", "unevaluatedProperties": False}, None),  # not ours: unsure
    ("x", {"format": "email"}, None),
    ({1: "x"}, {"type": "object"}, None),  # not JSON: unsure
    ([1], {"items": [{"type": "string"}]}, None),  # old tuple form is not a schema
    ({"a": 1}, {"$ref": "#/definitions/a"}, None),
    ("ab", {"pattern": "^a", "maxLength": 1}, False),
    (5, {"minLength": 3}, True),  # a string keyword says nothing about a number
    ({"kind": "x"}, {"if": {"properties": {"kind": {"const": "x"}}},
                     "then": {"required": ["url"]}}, False),
    ({"kind": "y"}, {"if": {"properties": {"kind": {"const": "x"}}},
                     "then": {"required": ["url"]}}, True),
])
def test_keywords(instance: Any, node: dict[str, Any], expected: bool | None) -> None:
    assert quickcheck.is_valid(instance, node) is expected


def _jsonschema_modules_after_loading(conf_dir: Path, ok: bool) -> str:
    code = ("import sys; from pathlib import Path; "
            "from wezparallel.spec.loader import load_conf_dir; "
            f"r = load_conf_dir(Path({str(conf_dir)!r}), {{}}); "
            f"assert r.ok is {ok}, r.problems; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'jsonschema'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    return out.stdout.strip()


def test_valid_files_do_not_import_jsonschema(tmp_path: Path) -> None:
    """The point of the quick check: a daemon whose files are valid never loads jsonschema."""
    assert _jsonschema_modules_after_loading(REPO / "conf.d", ok=True) == "[]"
    (tmp_path / "w.yaml").write_text("workspace: w\nprocesses:\n  a: {command: x, restrat: 1}\n")
    # the messages still come from jsonschema
    assert "jsonschema" in _jsonschema_modules_after_loading(tmp_path, ok=False)
