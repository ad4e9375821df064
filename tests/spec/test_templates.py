"""Templates are valid workspace files, found through the installed package."""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path

import pytest

from wezparallel.errors import PermanentError
from wezparallel.spec import templates
from wezparallel.spec.loader import load_paths
from wezparallel.spec.schema import schema, schema_text

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["basic", "web_dev", "parallel_dev", "research"])
def test_template_renders_to_a_valid_workspace(tmp_path, name):
    path = templates.write_workspace(tmp_path, f"my-{name.replace('_', '-')}", name)
    result = load_paths([path], {"HOME": "/home/x"})
    assert not result.problems
    (spec,) = result.workspaces.values()
    assert spec.name == f"my-{name.replace('_', '-')}" and spec.processes
    assert spec.cwd == str(tmp_path.parent)  # `cwd: ..`: the project above conf.d


def test_template_contents_match_their_promise(tmp_path):
    def load(name):
        path = templates.write_workspace(tmp_path / name, name, name)
        (spec,) = load_paths([path], {}).workspaces.values()
        return spec

    assert [p.claude is not None for p in load("basic").processes] == [True]
    web = {p.name: p for p in load("web_dev").processes}
    assert web["dev"].command == ("npm", "run", "dev")
    assert web["logs"].command[0] == "tail" and web["logs"].command[-1] == "logs/app.log"
    assert sum(p.claude is not None for p in web.values()) == 2
    assert [p.claude is not None for p in load("parallel_dev").processes] == [True] * 3
    research = {p.name: p for p in load("research").processes}
    assert research["notes"].pane.size == "30%" and research["agent"].claude


def test_list_templates_has_descriptions():
    listed = dict(templates.list_templates())
    assert set(listed) == {"basic", "web_dev", "parallel_dev", "research"}
    assert all(listed.values())


def test_unknown_template_and_bad_names_are_permanent_errors(tmp_path):
    with pytest.raises(PermanentError, match="no template named 'x'"):
        templates.write_workspace(tmp_path, "ok", "x")
    for bad in ("", "Upper", "-dash", "a" * 65, "sp ace", "x/../y"):
        with pytest.raises(PermanentError, match="not a valid workspace name"):
            templates.render("basic", bad)


def test_schema_is_package_data_identical_to_the_repository_copy():
    packaged = importlib.resources.files("wezparallel") / "schemas" / "workspace.schema.json"
    assert packaged.read_text() == (REPO / "schemas" / "workspace.schema.json").read_text()
    assert schema_text() == packaged.read_text()


def _properties(node, where=""):
    """Every (path, property schema) in the schema, `$ref`s followed once."""
    defs = schema()["$defs"]
    if isinstance(node, dict):
        if "$ref" in node:
            node = {**defs[node["$ref"].rsplit("/", 1)[1]], **node}
        for name, sub in node.get("properties", {}).items():
            yield f"{where}.{name}", sub
        for key, sub in node.items():
            if key not in ("$ref", "if"):
                yield from _properties(sub, f"{where}/{key}")
    elif isinstance(node, list):
        for item in node:
            yield from _properties(item, where)


def test_every_property_has_title_and_description():
    missing = []
    defs = schema()["$defs"]
    for path, prop in _properties(schema()):
        resolved = {**defs[prop["$ref"].rsplit("/", 1)[1]], **prop} if "$ref" in prop else prop
        if not (resolved.get("title") and resolved.get("description")):
            missing.append(path)
    assert missing == []
    assert schema()["$id"] and json.loads(schema_text())["$schema"].endswith("2020-12/schema")
