"""`wezparctl service`: the unit and agent files, checked by systemd's own verifier.

systemd is not running on the build machines (no PID 1 manager in the container), so enabling
the unit is not exercised here; `systemd-analyze verify` parses the written file exactly as
systemd would load it and reports every line it cannot read.
"""

from __future__ import annotations

import getpass
import os
import plistlib
import subprocess
from pathlib import Path

import pytest

from tests.support import script
from wezparallel.cli import service_units as units


def ctl(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([script("wezparctl"), *args], capture_output=True, text=True,
                          timeout=60, cwd=cwd, stdin=subprocess.DEVNULL)


def verify(unit: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    runtime = tmp_path / "xdg-runtime"
    runtime.mkdir(exist_ok=True)
    return subprocess.run(["systemd-analyze", "verify", "--user", str(unit)],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)})


def test_the_user_unit_passes_systemds_verifier_with_awkward_paths(tmp_path: Path) -> None:
    state = tmp_path / "state dir %h"
    done = ctl("--conf-dir", "conf.d", "--state-dir", str(state), "service", "install",
               "--unit-dir", str(tmp_path / "units"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    unit = tmp_path / "units" / "wezparallel.service"
    assert f"wrote {unit}" in done.stdout
    checked = verify(unit, tmp_path)
    assert checked.returncode == 0 and checked.stderr == "", checked.stderr
    text = unit.read_text()
    assert "KillMode=process" in text and "Restart=on-failure" in text
    exec_start = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    # a relative --conf-dir is written absolute: the service does not start in this directory
    assert f"--conf-dir {tmp_path / 'conf.d'} " in exec_start
    assert '"' + str(state).replace("%", "%%") + '"' in exec_start


def test_an_existing_different_file_is_kept_unless_forced(tmp_path: Path) -> None:
    units_dir = tmp_path / "units"
    units_dir.mkdir()
    (units_dir / "wezparallel.service").write_text("[Unit]\nDescription=mine\n")
    refused = ctl("service", "install", "--unit-dir", str(units_dir))
    assert refused.returncode == 1 and "--force" in refused.stderr
    assert "Description=mine" in (units_dir / "wezparallel.service").read_text()
    forced = ctl("service", "install", "--unit-dir", str(units_dir), "--force")
    assert forced.returncode == 0, forced.stderr
    assert "KillMode=process" in (units_dir / "wezparallel.service").read_text()
    removed = ctl("service", "uninstall", "--unit-dir", str(units_dir))
    assert removed.returncode == 0 and not (units_dir / "wezparallel.service").exists()
    again = ctl("service", "uninstall", "--unit-dir", str(units_dir))
    assert again.returncode == 1 and "not installed" in again.stderr


def test_print_writes_nothing_and_user_with_system_is_a_usage_error(tmp_path: Path) -> None:
    printed = ctl("service", "install", "--print", "--unit-dir", str(tmp_path))
    assert printed.returncode == 0 and printed.stdout.startswith("[Unit]")
    assert list(tmp_path.iterdir()) == []
    both = ctl("service", "install", "--user", "--system", "--print")
    assert both.returncode == 2 and "exclude" in both.stderr


def test_a_system_unit_runs_as_its_user(tmp_path: Path) -> None:
    done = ctl("service", "install", "--system", "--unit-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    (unit,) = tmp_path.iterdir()
    text = unit.read_text()
    assert f"User={getpass.getuser()}\n" in text
    assert "WantedBy=multi-user.target" in text
    checked = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                             text=True, timeout=60)
    assert checked.returncode == 0 and checked.stderr == "", checked.stderr


def test_the_launchd_agent_keeps_children_and_restarts_only_on_failure(tmp_path: Path) -> None:
    spec = units.ServiceSpec(daemon=Path("/opt/wp/bin/wezparallel"), conf_dir=tmp_path / "c",
                             state_dir=tmp_path / "s", socket=tmp_path / "x.sock",
                             path_env="/usr/bin:/bin")
    agent = plistlib.loads(units.launchd_plist(spec))
    assert agent["ProgramArguments"] == spec.argv()
    assert agent["KeepAlive"] == {"SuccessfulExit": False}
    assert agent["AbandonProcessGroup"] is True
    assert agent["EnvironmentVariables"] == {"PATH": "/usr/bin:/bin"}


@pytest.mark.parametrize("word, quoted", [
    ("/usr/bin/wezparallel", "/usr/bin/wezparallel"),
    ("/tmp/a b", '"/tmp/a b"'),
    ("/tmp/100%", '"/tmp/100%%"'),
    ('say "hi"', '"say \\"hi\\""'),
])
def test_exec_start_words_are_quoted_for_systemd(word: str, quoted: str) -> None:
    assert units._systemd_quote(word) == quoted


def test_status_says_whether_the_daemon_answers(daemon_factory, tmp_path: Path) -> None:
    d = daemon_factory({"ws.yaml": "workspace: ws\nprocesses:\n  p: {command: sleep 600}\n"})
    down = ctl("--socket", str(d.socket), "service", "status", "--unit-dir", str(tmp_path))
    assert down.returncode == 1 and "daemon: not answering" in down.stdout
    d.start()
    up = ctl("--socket", str(d.socket), "service", "status", "--unit-dir", str(tmp_path))
    assert up.returncode == 0, up.stdout + up.stderr
    assert "not installed" in up.stdout and "daemon: answering" in up.stdout
