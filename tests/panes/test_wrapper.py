"""The pane wrapper run directly (no terminal), and the daemon-side helpers around it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import retry_until
from wezparallel.backends.base import Handle
from wezparallel.backends.wrapper import (
    PANEWRAP,
    WrappedProcesses,
    WrapperStatus,
    check_startable,
    read_status,
    tail_lines,
    withdraw_launch,
    wrapper_command,
    write_launch,
)
from wezparallel.errors import SpawnError
from wezparallel.plan.lifecycle import ExitInfo


def wrap(status: Path, *argv: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-I", "-S", str(PANEWRAP), "--status-file",
                             str(status), "--", *argv], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(proc: subprocess.Popen[bytes]) -> tuple[int, bytes]:
    _out, err = proc.communicate(timeout=30)
    return proc.returncode, err


def test_exit_code_is_recorded_and_mirrored(tmp_path: Path) -> None:
    status = tmp_path / "s.json"
    proc = wrap(status, "sh", "-c", "exit 3")
    assert finish(proc)[0] == 3
    rec = read_status(status)
    assert rec is not None and rec.wrapper == proc.pid and rec.pid != proc.pid
    assert rec.exit_info() == ExitInfo(code=3)
    assert list(tmp_path.iterdir()) == [status]  # no temporary file left behind


def test_death_by_signal_is_recorded_and_the_wrapper_dies_the_same_way(tmp_path: Path) -> None:
    status = tmp_path / "s.json"
    proc = wrap(status, "sh", "-c", "kill -KILL $$")
    assert finish(proc)[0] == -signal.SIGKILL
    assert read_status(status).exit_info() == ExitInfo(signal=signal.SIGKILL)  # type: ignore[union-attr]


def test_signals_to_the_wrapper_reach_the_program_group_once(tmp_path: Path) -> None:
    status = tmp_path / "s.json"
    count = tmp_path / "count"
    script = (f"trap 'echo x >> {count}' USR1; trap 'exit 5' TERM; "
              "touch ready; while :; do sleep 0.02; done")
    proc = subprocess.Popen([sys.executable, "-I", "-S", str(PANEWRAP), "--status-file",
                             str(status), "--", "sh", "-c", script], cwd=tmp_path,
                            stdin=subprocess.DEVNULL)
    retry_until(lambda: (tmp_path / "ready").exists(), 15, 0.01, "the program to start")
    rec = read_status(status)
    assert rec is not None and not rec.exited
    assert os.getpgid(rec.pid) == rec.pid  # the program leads its own group
    proc.send_signal(signal.SIGUSR1)
    retry_until(lambda: count.exists(), 15, 0.01, "USR1 to arrive")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 5
    assert count.read_text() == "x\n"
    assert read_status(status).exit_info() == ExitInfo(code=5)  # type: ignore[union-attr]


def test_a_terminal_that_hung_up_before_the_start_runs_nothing(tmp_path: Path) -> None:
    """tmux killed while it was starting the pane: the kernel's SIGHUP went out before the
    wrapper existed. Started on that dead terminal, the wrapper must not start an orphan."""
    status = tmp_path / "s.json"
    marker = tmp_path / "ran"
    master, slave = os.openpty()
    os.close(master)  # the pane's terminal hangs up
    try:
        proc = subprocess.Popen([sys.executable, "-I", "-S", str(PANEWRAP), "--status-file",
                                 str(status), "--", "touch", str(marker)], stdin=slave,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    finally:
        os.close(slave)
    assert finish(proc)[0] == -signal.SIGHUP
    assert not marker.exists()
    rec = read_status(status)
    assert rec is not None and rec.wrapper == proc.pid
    assert rec.exit_info() == ExitInfo(signal=signal.SIGHUP)


def test_a_live_terminal_that_is_not_the_wrappers_own_still_runs_the_program(
        tmp_path: Path) -> None:
    master, slave = os.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-I", "-S", str(PANEWRAP), "--status-file",
                                 str(tmp_path / "s.json"), "--", "sh", "-c", "exit 4"],
                                stdin=slave, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        assert finish(proc)[0] == 4
    finally:
        os.close(slave)
        os.close(master)


def test_a_missing_program_is_127_with_a_message(tmp_path: Path) -> None:
    proc = wrap(tmp_path / "s.json", "no-such-program-xyz")
    code, err = finish(proc)
    assert code == 127
    assert err == b"wezparallel: cannot run no-such-program-xyz: No such file or directory\n"


def test_bad_usage_is_2(tmp_path: Path) -> None:
    code, err = finish(wrap(tmp_path / "s.json"))  # no program after --
    assert code == 2 and err.startswith(b"usage: panewrap.py")


def test_unreadable_status_is_none_and_a_start_record_is_unknown_exit(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{half")
    assert read_status(bad) is None and read_status(tmp_path / "missing") is None
    assert WrapperStatus(1, 2, exited=False).exit_info() == ExitInfo(known=False)


def test_pidfd_watch_reports_the_recorded_exit_once(tmp_path: Path) -> None:
    seen: list[tuple[Handle, ExitInfo]] = []
    procs = WrappedProcesses(lambda h, i: seen.append((h, i)), tmp_path)
    status = procs.prepare("ws:p")

    async def scenario() -> Handle:
        proc = wrap(status, "sh", "-c", "sleep 0.2; exit 6")
        handle = Handle("ws:p", proc.pid, "tmux")
        procs.watch(handle)
        deadline = time.monotonic() + 15
        while not seen and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        proc.wait(timeout=30)
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
        await asyncio.sleep(0.05)
        return handle

    handle = asyncio.run(scenario())
    assert seen == [(handle, ExitInfo(code=6))]


def test_check_startable_names_the_problem(tmp_path: Path) -> None:
    with pytest.raises(SpawnError, match="ws:a: nothing to run"):
        check_startable("ws:a", str(tmp_path), ())
    with pytest.raises(SpawnError, match=r"working directory .*/nope does not exist"):
        check_startable("ws:a", str(tmp_path / "nope"), ("sh",))
    with pytest.raises(SpawnError, match="program 'sh' not found"):
        check_startable("ws:a", str(tmp_path), ("sh",), (("PATH", str(tmp_path)),))
    check_startable("ws:a", str(tmp_path), ("sh",))


def test_log_tail_drops_terminal_escapes(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_bytes(b"one\r\n\x1b[1;32mtwo\x1b[0m\r\n\x1b]0;title\x07three\n")
    assert tail_lines(log, 2) == ["two", "three"]
    assert tail_lines(tmp_path / "none.log", 5) == []


def launch(tmp_path: Path, argv: tuple[str, ...], env: tuple[tuple[str, str], ...] = (),
           cwd: str | None = None) -> tuple[Path, subprocess.Popen[bytes]]:
    status = tmp_path / "s.json"
    path = write_launch(status, argv, env, cwd)
    return path, subprocess.Popen(wrapper_command(path), stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_a_launch_file_gives_exact_argv_env_and_cwd_and_is_gone_once_read(
        tmp_path: Path) -> None:
    odd = tmp_path / "d;#(x) 'q\n"
    odd.mkdir()
    env = (("V", "a;"), ("W", "#(touch x)"), ("EMPTY", ""), ("EQ", "a=b"))
    code = ("import json, os, sys; print(json.dumps([sys.argv[1:], os.getcwd(), "
            "[os.environ.get(k) for k in ('V', 'W', 'EMPTY', 'EQ')]]))")
    argv = (sys.executable, "-c", code, "{}", ";", "", "\\;", "é\n")
    path, proc = launch(tmp_path, argv, env, str(odd))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert json.loads(out) == [list(argv[3:]), str(odd), ["a;", "#(touch x)", "", "a=b"]]
    assert not path.exists()
    assert read_status(tmp_path / "s.json").exit_info() == ExitInfo(code=0)  # type: ignore[union-attr]


def test_a_withdrawn_launch_file_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = write_launch(tmp_path / "s.json", ("touch", str(marker)))
    withdraw_launch(path)
    proc = subprocess.Popen(wrapper_command(path), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    code, err = finish(proc)
    assert code == 2 and b"cannot read the launch file" in err
    assert not marker.exists() and not (tmp_path / "s.json").exists()


def test_a_nul_cannot_be_launched(tmp_path: Path) -> None:
    with pytest.raises(SpawnError, match="NUL"):
        write_launch(tmp_path / "s.json", ("echo", "a\0b"))
    with pytest.raises(SpawnError, match="NUL"):
        write_launch(tmp_path / "s.json", ("echo",), (("K", "a\0b"),))
    assert list(tmp_path.iterdir()) == []


def test_a_missing_working_directory_is_127_with_a_message(tmp_path: Path) -> None:
    _path, proc = launch(tmp_path, ("true",), cwd=str(tmp_path / "nope"))
    code, err = finish(proc)
    assert code == 127 and err.startswith(b"wezparallel: cannot enter ")
