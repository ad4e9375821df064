"""The loader fills the model faithfully and turns every kind of bad input into problems."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.spec.fixtures import ENVIRON, VALID
from wezparallel.spec.loader import load_conf_dir, load_paths
from wezparallel.spec.model import (
    BackendName,
    Backoff,
    ClaudeSpec,
    Dependency,
    DependencyCondition,
    HealthProbe,
    Layout,
    PaneSpec,
    ProcessSpec,
    RestartPolicy,
    WorktreeSpec,
)
from wezparallel.spec.yamlsource import MAX_BYTES

ROOT = str(VALID.parent)  # full.yaml has `cwd: ..`


@pytest.fixture(scope="module")
def full():
    result = load_conf_dir(VALID, ENVIRON)
    assert not result.problems
    return {p.name: p for p in result.workspaces[str(VALID / "full.yaml")].processes}


def test_every_key_lands_in_the_model(full):
    assert full["web"] == ProcessSpec(
        workspace="full", name="web", command=("npm", "run", "dev", "--", "--port", "3000"),
        cwd=f"{ROOT}/web",
        env=(("DEBUG", "true"), ("FILE_VAR", "from-file"), ("FROM_DEFAULTS", "yes"),
             ("LITERAL", "${NOT}"), ("NODE_ENV", "production"), ("PORT", "3000"),
             ("QUOTED", "a hello b"), ("WORKERS", "4")),
        backend=BackendName.SUBPROCESS, layout=Layout.MAIN_LEFT, autostart=False,
        restart=RestartPolicy.ALWAYS, start_secs=0.25, max_restarts=2,
        backoff=Backoff(initial=0.1, max=60.0, factor=1.5, reset_after=120.0), stop_signal="INT",
        stop_timeout=3600.0,
        depends_on=(Dependency("full:api", DependencyCondition.HEALTHY),),
        health=(
            HealthProbe(kind="exec", command=("curl", "-fs", "localhost:3000"), interval=2.0,
                        timeout=1.0, retries=2, start_period=5.0, action="restart"),
            HealthProbe(kind="http", url="http://127.0.0.1:3000/health"),
            HealthProbe(kind="tcp", port=3000, host="localhost"),
            HealthProbe(kind="output", pattern="Traceback", action="restart"),
            HealthProbe(kind="idle", duration=1800.0, action="notify"),
            HealthProbe(kind="memory", max_bytes=2 * 1024**3),
        ),
        pane=PaneSpec(split="right", size="40%", domain="SSHMUX:devbox"),
    )


def test_dispatch_is_a_workspace_setting_manual_unless_told():
    result = load_conf_dir(VALID, ENVIRON)
    modes = {ws.name: ws.dispatch for ws in result.workspaces.values()}
    assert modes["full"] == "auto"
    assert {m for name, m in modes.items() if name != "full"} == {"manual"}


def test_claude_process_has_no_argv_and_a_full_claude_spec(full):
    api = full["api"]
    assert api.command == ()
    assert api.claude == ClaudeSpec(
        binary="/opt/claude", prompt="Own the REST API in ./api", model="sonnet",
        permission_mode="acceptEdits", allowed_tools=("Bash(git:*)", "Edit"),
        disallowed_tools=("WebFetch",), append_system_prompt="Be brief.",
        add_dirs=("../shared",), mcp_config="mcp.json", resume="never", hooks=False,
        args=("--verbose",))
    assert api.worktree == WorktreeSpec(branch="feature/api", base="main", path="../wt/api")
    assert api.backend == BackendName.TMUX  # inherited from the workspace
    assert api.stop_timeout == 3.0  # from defaults
    assert (api.start_secs, api.backoff.reset_after) == (5.0, 60.0)  # an agent's defaults
    assert (api.source.line, api.source.column) == (15, 3)


def test_shell_command_defaults_and_cross_workspace_dependency(full):
    shell = full["shell"]
    assert shell.command == ("/bin/sh", "-c", 'echo "$PORT" && sleep 1')
    assert shell.stop_signal == "HUP"  # given as the number 1
    assert shell.depends_on == (Dependency("full:web"), Dependency("other:db"))
    assert shell.worktree == WorktreeSpec()
    assert shell.cwd == ROOT
    assert (shell.restart, shell.start_secs, shell.max_restarts) == \
        (RestartPolicy.ON_FAILURE, 1.0, 5)


def test_agents_count_as_started_after_5s_unless_the_file_says_otherwise(tmp_path):
    """Claude Code without a login or network exits ~2 s in: that must be a failed start."""
    write(tmp_path, "w.yaml", "workspace: w\nprocesses:\n  a: {claude: {}}\n"
          "  b: {claude: {}, start_secs: 2s}\n  c: {command: x}\n")
    write(tmp_path, "v.yaml", "workspace: v\ndefaults: {start_secs: 0}\nprocesses:\n"
          "  a: {claude: {}}\n")
    result = load_conf_dir(tmp_path, {})
    assert not result.problems
    w = {p.name: p.start_secs for p in result.workspaces[str(tmp_path / "w.yaml")].processes}
    v = {p.name: p.start_secs for p in result.workspaces[str(tmp_path / "v.yaml")].processes}
    assert (w, v) == ({"a": 5.0, "b": 2.0, "c": 1.0}, {"a": 0.0})


def test_a_bad_reset_after_is_located(tmp_path):
    write(tmp_path, "w.yaml", "workspace: w\nprocesses:\n"
          "  a: {command: x, backoff: {reset_after: soon}}\n")
    (problem,) = load_conf_dir(tmp_path, {}).problems
    assert (problem.line, "reset_after" in problem.message) == (3, True), problem


def test_overlay_deep_merges_and_anchors_expand():
    result = load_conf_dir(VALID, ENVIRON)
    over = {p.name: p for p in result.workspaces[str(VALID / "overlaid.yaml")].processes}
    assert over["agent"].claude == ClaudeSpec(prompt="team prompt", model="opus")
    assert over["agent"].env_dict == {"TEAM": "1", "SHARED": "mine"}
    assert set(over) == {"agent", "server", "mine"}
    assert over["mine"].source.file == str(VALID / "overlaid.local.yaml")
    anchors = {p.name: p for p in result.workspaces[str(VALID / "anchors.yaml")].processes}
    assert anchors["a"].env_dict == {"A": "1"} and anchors["a"].stop_timeout == 2.0
    assert anchors["b"].env_dict == {"B": "2"}  # a mapping given explicitly replaces the merged
    assert anchors["b"].restart == RestartPolicy.ALWAYS


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text)
    return path


def test_cwd_resolution_and_home(tmp_path):
    write(tmp_path, "w.yaml", "workspace: w\ncwd: ~/proj\nprocesses:\n"
          "  a: {command: x, cwd: sub/../src}\n  b: {command: y, cwd: /abs}\n")
    spec = load_paths([tmp_path / "w.yaml"], {}).workspaces[str(tmp_path / "w.yaml")]
    home = os.path.expanduser("~")
    assert spec.cwd == f"{home}/proj"
    assert [p.cwd for p in spec.processes] == [f"{home}/proj/src", "/abs"]


def test_env_precedence_workspace_then_env_file_then_process(tmp_path):
    write(tmp_path, ".env", "A=file\nB=file\n")
    write(tmp_path, "w.yaml", "workspace: w\nenv: {A: ws, B: ws, C: '${X:-dflt}'}\n"
          "env_file: .env\nprocesses:\n  p: {command: x, env: {B: proc}}\n")
    (proc,) = load_conf_dir(tmp_path, {}).workspaces[str(tmp_path / "w.yaml")].processes
    assert proc.env == (("A", "file"), ("B", "proc"), ("C", "dflt"))


def test_the_env_files_named_are_reported_absolute_even_a_missing_one(tmp_path, monkeypatch):
    conf = tmp_path / "conf.d"
    conf.mkdir()
    write(tmp_path, ".env", "A=1\n")
    write(conf, "w.yaml", "workspace: w\nenv_file: [../.env, ../missing.env]\n"
          "processes:\n  p: {command: x}\n")
    write(conf, "v.yaml", "workspace: v\nenv_file: ${DIR}/v.env\nprocesses:\n  p: {command: x}\n")
    monkeypatch.chdir(tmp_path)  # the conf dir given relative, as `--conf-dir conf.d` is
    result = load_conf_dir(Path("conf.d"), {"DIR": "/etc/wp"})
    assert result.env_files == {str(tmp_path / ".env"), str(tmp_path / "missing.env"),
                                "/etc/wp/v.env"}
    assert {p.file for p in result.problems} == {"conf.d/v.yaml", "conf.d/w.yaml"}


def test_problem_in_overlay_invalidates_base_and_is_located_in_overlay(tmp_path):
    write(tmp_path, "t.yaml", "workspace: t\nprocesses:\n  a: {command: x}\n")
    write(tmp_path, "t.local.yaml", "processes:\n  a: {restart: sometimes}\n")
    result = load_conf_dir(tmp_path, {})
    (problem,) = result.problems
    assert (problem.file, problem.line) == (str(tmp_path / "t.local.yaml"), 2)
    assert str(tmp_path / "t.yaml") in result.invalid_files
    assert result.workspaces == {}


def test_explicit_base_file_picks_up_its_overlay(tmp_path):
    write(tmp_path, "t.yml", "workspace: t\nprocesses:\n  a: {command: x}\n")
    write(tmp_path, "t.local.yml", "processes:\n  a: {command: y}\n")
    spec = load_paths([tmp_path / "t.yml"], {}).workspaces[str(tmp_path / "t.yml")]
    assert spec.processes[0].command == ("y",)


def test_duplicate_names_later_file_in_sorted_order_is_invalid(tmp_path):
    for name in ("b.yaml", "a.yaml", "c.yml"):
        write(tmp_path, name, "workspace: same\nprocesses: {}\n")
    result = load_conf_dir(tmp_path, {})
    assert list(result.workspaces) == [str(tmp_path / "a.yaml")]
    assert result.invalid_files == {str(tmp_path / "b.yaml"), str(tmp_path / "c.yml")}


def test_hidden_and_non_yaml_files_are_ignored(tmp_path):
    write(tmp_path, ".hidden.yaml", "junk: [")
    write(tmp_path, "#emacs.yaml#", "junk: [")
    write(tmp_path, "notes.txt", "junk: [")
    write(tmp_path, "w.yaml~", "junk: [")
    write(tmp_path, "ok.yaml", "workspace: ok\nprocesses: {}\n")
    result = load_conf_dir(tmp_path, {})
    assert not result.problems and list(result.workspaces) == [str(tmp_path / "ok.yaml")]


def test_odd_files_are_problems_not_exceptions(tmp_path):
    (tmp_path / "dir.yaml").mkdir()
    os.mkfifo(tmp_path / "fifo.yaml")  # reading it would block forever
    with open(tmp_path / "huge.yaml", "wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # 50 MB, sparse
    os.symlink("/proc/self/mem", tmp_path / "unreadable.yaml")  # read() fails with EIO
    os.symlink(tmp_path / "nowhere", tmp_path / "dangling.yaml")
    result = load_paths([tmp_path, tmp_path / "missing.yaml"], {})
    messages = {Path(p.file).name: p.message for p in result.problems}
    assert messages == {
        "dangling.yaml": "cannot read file: No such file or directory",
        "dir.yaml": "is a directory, not a workspace file",
        "fifo.yaml": "is not a regular file",
        "huge.yaml": f"file is too large (52428800 bytes; the limit is {MAX_BYTES} bytes)",
        "missing.yaml": "no such file or directory",
        "unreadable.yaml": "cannot read file: Input/output error",
    }
    assert result.workspaces == {}


def test_unreadable_permissions_are_a_problem(tmp_path):
    path = write(tmp_path, "secret.yaml", "workspace: s\nprocesses: {}\n")
    path.chmod(0)
    try:
        result = load_paths([path], {})
        if os.geteuid() == 0:  # root reads anything: then the file simply loads
            assert not result.problems
        else:
            assert result.problems[0].message == "cannot read file: Permission denied"
    finally:
        path.chmod(0o600)


def test_problems_of_all_files_in_one_pass_sorted(tmp_path):
    write(tmp_path, "b.yaml", "workspace: b\nprocesses:\n  x: {command: x, restrat: always}\n")
    write(tmp_path, "a.yaml", "workspace: a\nprocesses:\n  y: {comand: x}\n")
    write(tmp_path, "c.yaml", "workspace: c\nprocesses: {}\n")
    result = load_conf_dir(tmp_path, {})
    assert [(Path(p.file).name, p.line) for p in result.problems] == [("a.yaml", 3),
                                                                      ("b.yaml", 3)]
    assert "did you mean `command`?" in result.problems[0].message
    assert list(result.workspaces) == [str(tmp_path / "c.yaml")]


def test_dependency_on_a_broken_workspace_is_not_judged(tmp_path):
    write(tmp_path, "a.yaml", "workspace: a\nprocesses:\n  x: {command: x, depends_on: ['b:y']}\n")
    write(tmp_path, "b.yaml", "workspace: b\nprocesses:\n  y: {command: [}\n")
    result = load_conf_dir(tmp_path, {})
    assert {Path(p.file).name for p in result.problems} == {"b.yaml"}
    assert list(result.workspaces) == [str(tmp_path / "a.yaml")]


@pytest.mark.parametrize(("body", "where"), [
    ('env: {X: "a\\0b"}\nprocesses:\n  p: {command: [sleep, "1"]}\n', "2:10: `env.X`"),
    ('processes:\n  p: {command: [sleep, "1\\0"]}\n', "3:24: `processes.p.command[1]`"),
    ('processes:\n  p: {command: "sleep 1", cwd: "/tmp\\0x"}\n', "`processes.p.cwd`"),
    ('processes:\n  p: {command: "sleep 1", env: {Y: "\\0"}}\n', "`processes.p.env.Y`"),
    ('processes:\n  p: {claude: {prompt: "hi\\0"}}\n', "`processes.p.claude.prompt`"),
])
def test_a_nul_character_is_a_located_problem(tmp_path: Path, body: str, where: str) -> None:
    """Issue 16.1: such a file passed validation, then Popen's ValueError killed the loop."""
    (tmp_path / "w.yaml").write_text("workspace: w\n" + body)
    result = load_conf_dir(tmp_path, {})
    assert not result.workspaces
    (problem,) = result.problems
    assert where in str(problem) and "NUL character" in problem.message


def test_a_nul_in_an_env_file_is_a_located_problem(tmp_path: Path) -> None:
    (tmp_path / "vars.env").write_text("A=x\0y\n")
    (tmp_path / "w.yaml").write_text(
        "workspace: w\nenv_file: vars.env\nprocesses:\n  p: {command: [sleep, '1']}\n")
    (problem,) = load_conf_dir(tmp_path, {}).problems
    assert problem.line == 2 and "NUL character" in problem.message
