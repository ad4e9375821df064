"""Where things live: every location absolute from the moment it is read, and the socket's
directory private without ever taking over a directory the daemon did not create."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import DaemonProcess, retry_until, script, short_tmpdir
from wezparallel.errors import PermanentError
from wezparallel.paths import Paths, ensure_private_dir, ensure_socket_dir


def test_flags_and_env_are_made_absolute_against_the_cwd(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WEZPARALLEL_STATE_DIR", "st")
    monkeypatch.delenv("WEZPARALLEL_CONF_DIR", raising=False)
    monkeypatch.delenv("WEZPARALLEL_SOCKET", raising=False)
    paths = Paths.resolve(conf_dir="conf.d", socket="../x/wp.sock")
    assert paths.conf_dir == tmp_path / "conf.d"
    assert paths.state_dir == tmp_path / "st"
    assert paths.socket == tmp_path.parent / "x" / "wp.sock"


def test_defaults_are_absolute_and_a_relative_xdg_value_is_ignored(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The XDG spec: a relative path in an XDG variable is invalid and must be ignored."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "conf.d").mkdir()
    for var in ("WEZPARALLEL_CONF_DIR", "WEZPARALLEL_STATE_DIR", "WEZPARALLEL_SOCKET"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", "relative/state")
    monkeypatch.setenv("XDG_RUNTIME_DIR", "relative/run")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    paths = Paths.resolve()
    assert paths.conf_dir == tmp_path / "conf.d"
    assert paths.state_dir == tmp_path / "home" / ".local" / "state" / "wezparallel"
    assert paths.socket == Path(f"/tmp/wezparallel-{os.getuid()}") / "wezparallel.sock"


# --- directory modes --------------------------------------------------------------------------

def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_an_existing_directory_keeps_its_mode(tmp_path: Path) -> None:
    shared = tmp_path / "project"
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o755)
    ensure_private_dir(shared)
    ensure_socket_dir(shared / "wp.sock")
    assert _mode(shared) == 0o755


def test_created_directories_are_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        ensure_socket_dir(tmp_path / "a" / "b" / "wp.sock")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "a") == 0o700
    assert _mode(tmp_path / "a" / "b") == 0o700


def test_a_socket_directory_others_may_write_is_refused(tmp_path: Path) -> None:
    open_dir = tmp_path / "open"
    open_dir.mkdir()
    os.chmod(open_dir, 0o1777)
    with pytest.raises(PermanentError) as info:
        ensure_socket_dir(open_dir / "wp.sock")
    assert str(info.value) == (
        f"socket directory {open_dir} is writable by other users, who could replace the "
        f"socket; use a directory only you can write (the daemon creates a missing one "
        f"0700), e.g. --socket {open_dir}/wezparallel-{os.getuid()}/wezparallel.sock")
    assert _mode(open_dir) == 0o1777


@pytest.fixture
def sticky_tmp() -> Iterator[Path]:
    """A directory shaped like /tmp (1777), of our own, so the test never touches /tmp's mode."""
    root = short_tmpdir("wpm-")
    os.chmod(root, 0o1777)
    yield root
    subprocess.run(["rm", "-rf", str(root)], check=False)


def test_daemon_refuses_a_socket_in_a_world_writable_directory_and_leaves_its_mode(
        sticky_tmp: Path) -> None:
    conf = sticky_tmp / "conf.d"
    conf.mkdir()
    out = subprocess.run(
        [script("wezparallel"), "--conf-dir", str(conf), "--state-dir",
         str(sticky_tmp / "state"), "--socket", str(sticky_tmp / "wp.sock"), "--no-watch"],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert out.returncode == 1, out.stderr
    assert f"socket directory {sticky_tmp} is writable by other users" in out.stderr
    assert "Traceback" not in out.stderr
    assert _mode(sticky_tmp) == 0o1777
    assert not (sticky_tmp / "wp.sock").exists()


# --- relative paths through the real daemon ---------------------------------------------------

def test_relative_state_dir_with_tmux_panes_keeps_processes_running(
        daemon_factory) -> None:
    """The pane wrapper runs in the process's cwd: a state dir relative to the daemon's cwd
    must have been made absolute before it reaches the pane."""
    root = short_tmpdir()
    (root / "work").mkdir()
    conf = f"workspace: ws\nprocesses:\n  srv: {{command: sleep 600, cwd: {root / 'work'}, " \
        "start_secs: 1}\n"
    d: DaemonProcess = daemon_factory({"ws.yaml": conf}, backend="tmux", root=root,
                                      relative=True)
    try:
        d.start()
        p = d.wait_state("ws:srv", "RUNNING", timeout=30)
        assert p["restarts"] == 0 and p["pane"], d.daemon_log()
        assert "Traceback" not in d.daemon_log()
        assert list((root / "state" / "panes").iterdir()), "the wrapper's records"
        assert not (root / "work" / "state").exists()
    finally:
        d.stop()
        subprocess.run(["tmux", "-S", str(root / "state" / "tmux.sock"), "kill-server"],
                       capture_output=True, timeout=30)


def test_relative_socket_reaches_claude_hooks_as_an_absolute_path(daemon_factory) -> None:
    from tests.engine.test_agents_e2e import StubAgent, wait_activity

    d: DaemonProcess = daemon_factory(relative=True)
    agent = StubAgent(d.root)
    (d.conf / "ws.yaml").write_text(agent.conf("tool"))
    d.start()
    settings = retry_until(
        lambda: next(iter((d.state / "agents" / "ws").glob("*.settings.json")), None),
        15, 0.05, "the hooks settings file")
    assert f"--socket {d.socket} " in settings.read_text()
    wait_activity(d, "ws:agent", "idle")  # the hooks reached the daemon from the agent's cwd


def test_under_umask_000_the_state_dir_keeps_private_modes(daemon_factory) -> None:
    """Modes are set explicitly, not left to the umask the daemon was started with."""
    conf = "workspace: ws\nprocesses:\n  srv: {command: sleep 600, start_secs: 0}\n" \
        "  out: {command: sleep 601, start_secs: 0, backend: subprocess}\n"
    d: DaemonProcess = daemon_factory({"ws.yaml": conf}, backend="tmux")
    old = os.umask(0)
    try:
        d.start()
    finally:
        os.umask(old)
    try:
        d.wait_state("ws:srv", "RUNNING", timeout=30)
        d.wait_state("ws:out", "RUNNING", timeout=30)
        for sub in ("", "logs", "logs/ws", "panes", "panes/ws"):
            assert _mode(d.state / sub) == 0o700, sub
        for log in ("srv.log", "out.log"):
            assert _mode(d.state / "logs" / "ws" / log) == 0o600, log
    finally:
        d.stop()
        subprocess.run(["tmux", "-S", str(d.state / "tmux.sock"), "kill-server"],
                       capture_output=True, timeout=30)
