"""Hostile values through a real daemon on `--backend tmux`: nothing a user writes may reach
tmux's command parser or its formats. Each program dumps the argv, environment and working
directory it got; they must be exactly what the file said, and no injected command may run."""

from __future__ import annotations

import json
import shutil
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support import DaemonProcess, retry_until, short_tmpdir

DUMP = """#!{python}
import json, os, sys, time
out = os.path.join(os.environ["DUMP_DIR"], os.environ["DUMP_NAME"] + ".json")
keys = ("V", "W", "X", "Y")
with open(out + ".tmp", "w") as f:
    json.dump({{"argv": sys.argv[1:], "env": {{k: os.environ.get(k) for k in keys}},
               "cwd": os.getcwd()}}, f)
os.replace(out + ".tmp", out)
time.sleep(600)
"""


def dump_program(root: Path) -> Path:
    path = root / "dump"
    path.write_text(DUMP.format(python=sys.executable))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def seen(d: DaemonProcess, name: str) -> dict[str, Any]:
    path = d.root / "out" / f"{name}.json"
    retry_until(path.exists, 20, 0.05, f"{name} to dump what it got")
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def hostile_conf(root: Path, program: Path, cwd: Path) -> dict[str, Any]:
    pwned = str(root / "PWNED")
    return {"workspace": "hostile", "backend": "tmux", "processes": {
        "find": {"command": [str(program), ".", "-exec", "echo", "{}", ";"],
                 "env": {"DUMP_NAME": "find"}, "start_secs": 0},
        "semi": {"command": f"{program} 'hi;' run-shell 'touch {pwned}-1'",
                 "env": {"DUMP_NAME": "semi", "V": "a;", "W": f"#(touch {pwned}-2)",
                         "X": "x\\;", "Y": "#{pane_id};"}, "start_secs": 0},
        "cwd": {"command": [str(program), f"#(touch {pwned}-3)", "\\;", ";;"],
                "cwd": str(cwd), "env": {"DUMP_NAME": "cwd"}, "start_secs": 0},
        "agent": {"claude": {"binary": str(program),
                             "prompt": f"fix it; run-shell 'touch {pwned}-4';",
                             "hooks": False},
                  "env": {"DUMP_NAME": "agent"}, "start_secs": 0},
    }}


@pytest.fixture
def hostile(daemon_factory: Callable[..., DaemonProcess],
            monkeypatch: pytest.MonkeyPatch) -> DaemonProcess:
    d = daemon_factory(backend="tmux")
    (d.root / "out").mkdir()
    monkeypatch.setenv("DUMP_DIR", str(d.root / "out"))
    # a directory whose name tmux would run as a format job (`-c` is format-expanded)
    cwd = d.root / f"w;s #(touch {d.root}/PWNED-5) ;"
    cwd.mkdir(parents=True)
    conf = hostile_conf(d.root, dump_program(d.root), cwd)
    (d.conf / "hostile.yaml").write_text(json.dumps(conf))
    return d.start()


def test_argv_env_and_cwd_arrive_exactly_and_nothing_is_injected(
        hostile: DaemonProcess) -> None:
    d = hostile
    find = seen(d, "find")
    assert find["argv"] == [".", "-exec", "echo", "{}", ";"]
    semi = seen(d, "semi")
    assert semi["argv"] == ["hi;", "run-shell", f"touch {d.root}/PWNED-1"]
    assert semi["env"] == {"V": "a;", "W": f"#(touch {d.root}/PWNED-2)", "X": "x\\;",
                           "Y": "#{pane_id};"}
    cwd = seen(d, "cwd")
    assert cwd["argv"] == [f"#(touch {d.root}/PWNED-3)", "\\;", ";;"]
    assert cwd["cwd"] == str(d.root / f"w;s #(touch {d.root}/PWNED-5) ;")
    agent = seen(d, "agent")
    assert agent["argv"][-1] == f"fix it; run-shell 'touch {d.root}/PWNED-4';"
    for pid in ("hostile:find", "hostile:semi", "hostile:cwd", "hostile:agent"):
        assert d.process(pid)["state"] == "RUNNING"
    assert not list(d.root.glob("PWNED*"))


def test_a_state_dir_with_a_format_in_its_name_keeps_its_log_path(
        daemon_factory: Callable[..., DaemonProcess]) -> None:
    """`pipe-pane`'s command is format-expanded, then run by a shell: the log path in it
    must reach `cat` as written, and the job in the name must not run."""
    base = short_tmpdir("wph-")
    root = base / "s #(echo x) 'x;"  # expanded, the path would lose the job and its quote
    root.mkdir()
    d = daemon_factory(backend="tmux", root=root)
    conf = {"workspace": "w", "backend": "tmux", "processes": {"talk": {
        "command": ["sh", "-c", "echo said-it; sleep 600"], "start_secs": 0}}}
    (d.conf / "w.yaml").write_text(json.dumps(conf))
    try:
        d.start()
        log = d.state / "logs" / "w" / "talk.log"
        retry_until(lambda: log.exists() and "said-it" in log.read_text(), 20, 0.05,
                    f"the pane's output in {log}")
    finally:
        d.cleanup()
        shutil.rmtree(base, ignore_errors=True)
