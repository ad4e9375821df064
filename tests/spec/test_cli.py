"""`wezparctl validate | schema | templates | init` through click's CliRunner, and the
console script once for real."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from tests.spec.fixtures import INVALID
from tests.support import script
from wezparallel.cli.ctl import cli
from wezparallel.spec.loader import load_paths

REPO = Path(__file__).resolve().parents[2]


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_bundled_conf_dir_is_valid():
    result = run("--conf-dir", str(REPO / "conf.d"), "validate")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: 2 workspaces, ")


def test_nested_typo_prints_file_line_col_and_suggestion(tmp_path):
    path = tmp_path / "web.yaml"
    path.write_text("workspace: web\nprocesses:\n  web:\n    command: npm run dev\n"
                    "    restrat: always\n")
    result = run("validate", str(path))
    assert result.exit_code == 1
    assert result.stdout == (f"{path}:5:5: unknown key `restrat` in `processes.web`; "
                             "did you mean `restart`?\n")


def test_default_path_is_the_conf_dir_and_json_lists_problems(tmp_path):
    (tmp_path / "a.yaml").write_text("workspace: a\nprocesses:\n  x: {command: [}\n")
    result = run("--conf-dir", str(tmp_path), "validate", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == [{
        "file": str(tmp_path / "a.yaml"), "line": 3, "column": 17,
        "message": "YAML syntax error: did not find expected node content "
                   "(while parsing a flow node)"}]


def test_several_paths_in_one_run():
    result = run("validate", str(INVALID / "typo_restrat.yaml"), str(INVALID / "cycle.yaml"))
    assert result.exit_code == 1
    assert [line.split(":")[0] for line in result.stdout.splitlines()] == \
        [str(INVALID / "cycle.yaml")] * 3 + [str(INVALID / "typo_restrat.yaml")]


def test_valid_json_is_an_empty_list(tmp_path):
    (tmp_path / "a.yaml").write_text("workspace: a\nprocesses: {}\n")
    result = run("validate", "--json", str(tmp_path))
    assert (result.exit_code, json.loads(result.stdout)) == (0, [])


def test_schema_prints_the_shipped_schema():
    result = run("schema")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == json.loads(
        (REPO / "schemas" / "workspace.schema.json").read_text())


def test_templates_lists_the_four_known_names():
    result = run("templates")
    assert result.exit_code == 0
    names = [line.split()[0] for line in result.stdout.splitlines()]
    assert names == ["basic", "parallel_dev", "research", "web_dev"]


def test_templates_json_lists_names_and_descriptions():
    result = run("templates", "--json")
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert [t["name"] for t in listed] == ["basic", "parallel_dev", "research", "web_dev"]
    assert listed[0]["description"] == "One Claude Code agent in the project directory"


def test_init_writes_a_valid_file_and_refuses_to_overwrite(tmp_path):
    first = run("init", "mine", "--template", "web_dev", "--dir", str(tmp_path / "new"))
    assert first.exit_code == 0, first.output
    target = tmp_path / "new" / "mine.yaml"
    assert "workspace: mine\n" in target.read_text()
    check = run("validate", str(target))
    assert check.exit_code == 0 and check.stdout.startswith("ok: 1 workspace, 4 processes")
    target.write_text("# mine now\n")
    again = run("init", "mine", "--dir", str(tmp_path / "new"))
    assert again.exit_code == 1
    assert "already exists; not overwriting" in again.stderr
    assert target.read_text() == "# mine now\n"


def test_init_defaults_to_the_conf_dir(tmp_path):
    result = run("--conf-dir", str(tmp_path), "init", "solo")
    assert result.exit_code == 0
    assert (tmp_path / "solo.yaml").is_file()


def test_init_rejects_unknown_template_and_bad_name(tmp_path):
    unknown = run("init", "x", "--template", "nope", "--dir", str(tmp_path))
    assert unknown.exit_code == 2  # a wrong argument is a usage error (issue 11.11)
    assert "no template named 'nope'; the templates are: basic" in unknown.stderr
    bad = run("init", "Bad Name", "--dir", str(tmp_path))
    assert bad.exit_code == 1 and "not a valid workspace name" in bad.stderr
    assert list(tmp_path.iterdir()) == []


def test_console_script_and_lazy_imports(tmp_path):
    (tmp_path / "a.yaml").write_text("workspace: a\nprocesses:\n  p: {command: x, restrat: 1}\n")
    done = subprocess.run([script("wezparctl"), "validate", str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stdout.startswith(f"{tmp_path / 'a.yaml'}:3:19: unknown key `restrat`")
    probe = subprocess.run(
        [sys.executable, "-c", "import sys, wezparallel.cli.ctl; "
         "print(any(m.split('.')[0] in ('jsonschema', 'yaml') for m in sys.modules))"],
        capture_output=True, text=True, timeout=60)
    assert probe.stdout.strip() == "False"


def test_init_outside_the_project_writes_its_absolute_cwd_and_says_where(
        tmp_path, monkeypatch):
    """`wezparctl init` run in a project whose conf dir is elsewhere (the XDG default): the
    agents must run in the project, not beside the file."""
    project = tmp_path / "my $project"  # a `$` must not be read as interpolation
    project.mkdir()
    conf = tmp_path / "xdg" / "wezparallel" / "conf.d"
    monkeypatch.chdir(project)
    result = run("--conf-dir", str(conf), "init", "solo")
    assert result.exit_code == 0, result.output
    target = conf / "solo.yaml"
    assert result.stdout.startswith(f"wrote {target} (template basic) for {project};")
    (spec,) = load_paths([target], {}).workspaces.values()
    assert spec.cwd == str(project)
    assert [p.cwd for p in spec.processes] == [str(project)]


def test_init_inside_the_project_writes_a_cwd_relative_to_the_file(tmp_path, monkeypatch):
    """A conf.d (or any folder) inside the project: the file moves with a clone of it."""
    monkeypatch.chdir(tmp_path)
    result = run("init", "solo", "--dir", "deep/conf.d")
    assert result.exit_code == 0, result.output
    target = tmp_path / "deep" / "conf.d" / "solo.yaml"
    assert f"wrote {target} " in result.stdout
    assert "\ncwd: ../..  " in target.read_text()
    (spec,) = load_paths([target], {}).workspaces.values()
    assert spec.cwd == str(tmp_path)
