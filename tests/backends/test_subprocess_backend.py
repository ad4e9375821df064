"""The headless backend against real processes: exits, groups, stop, logs, spawn errors."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import time
from pathlib import Path

import pytest

from tests.backends.kit import (
    WAIT,
    is_our_child,
    make_backend,
    run,
    sh,
    spec,
    wait_for_text,
)
from tests.support import pid_alive, retry_until
from wezparallel.backends import procinfo
from wezparallel.backends.base import Handle
from wezparallel.backends.subprocess import SubprocessBackend
from wezparallel.errors import SpawnError
from wezparallel.plan.lifecycle import ExitInfo


def test_an_exit_code_is_reported_and_the_child_reaped(tmp_path: Path) -> None:
    async def scenario() -> None:
        backend, exits = make_backend()
        go = tmp_path / "go"
        script = f"until [ -e {go} ]; do sleep 0.01; done; exit 7"
        h = await backend.spawn(spec(tmp_path), sh(script), tmp_path / "p.log")
        assert (h.id, h.backend) == ("t:p", "subprocess")
        from_proc = procinfo.create_time(h.pid)
        assert h.create_time is not None and from_proc is not None
        assert abs(h.create_time - from_proc) <= 0.011  # one clock tick
        assert procinfo.is_same_process(h.pid, h.create_time)
        go.touch()
        handle, info = await exits.next()
        assert handle == h
        assert info == ExitInfo(code=7)
        assert not is_our_child(h.pid)  # reaped: no zombie left
        await backend.close()
    run(scenario)


def test_a_kill_by_signal_is_reported_as_that_signal(tmp_path: Path) -> None:
    async def scenario() -> None:
        backend, exits = make_backend()
        h = await backend.spawn(spec(tmp_path), ("sleep", "600"), tmp_path / "p.log")
        backend.signal(h, signal.SIGKILL)
        _, info = await exits.next()
        assert info == ExitInfo(signal=signal.SIGKILL)
        assert info.describe() == "killed by SIGKILL"
        assert len(exits.seen) == 1
        await backend.close()
    run(scenario)


@pytest.mark.parametrize("leader_ends", ["exits", "is-killed"])
def test_what_the_leader_started_dies_with_it(tmp_path: Path, leader_ends: str) -> None:
    log, go = tmp_path / "p.log", tmp_path / "go"
    ending = f"while [ ! -e {go} ]; do sleep 0.01; done; exit 3" if leader_ends == "exits" \
        else "wait"
    script = f"sleep 600 & echo grandchild $!; {ending}"

    async def scenario() -> None:
        backend, exits = make_backend()
        h = await backend.spawn(spec(tmp_path), sh(script), log)
        grandchild = int((await wait_for_text(log, "\n")).split()[1])
        assert pid_alive(grandchild)
        if leader_ends == "is-killed":
            os.kill(h.pid, signal.SIGKILL)  # the leader only, not its group
        else:
            go.touch()
        _, info = await exits.next()
        expected = ExitInfo(code=3) if leader_ends == "exits" else ExitInfo(signal=9)
        assert info == expected
        retry_until(lambda: not pid_alive(grandchild), WAIT, what="grandchild to die")
        await backend.close()
    run(scenario)


def test_stop_escalates_to_sigkill_when_term_is_ignored(tmp_path: Path) -> None:
    log = tmp_path / "p.log"

    async def scenario() -> None:
        backend, exits = make_backend()
        h = await backend.spawn(spec(tmp_path), sh("trap '' TERM; echo ready; exec sleep 600"),
                                log)
        await wait_for_text(log, "ready")
        started = time.monotonic()
        await backend.stop(h, signal.SIGTERM, 0.3)
        assert time.monotonic() - started >= 0.3
        assert not pid_alive(h.pid)
        assert exits.seen == [(h, ExitInfo(signal=signal.SIGKILL))]
        await backend.close()
    run(scenario)


def test_a_graceful_stop_ends_with_the_stop_signal(tmp_path: Path) -> None:
    async def scenario() -> None:
        backend, exits = make_backend()
        h = await backend.spawn(spec(tmp_path), ("sleep", "600"), tmp_path / "p.log")
        await backend.stop(h, signal.SIGINT, WAIT)
        assert exits.seen == [(h, ExitInfo(signal=signal.SIGINT))]
        await backend.stop(h, signal.SIGTERM, WAIT)  # already gone: nothing to do
        backend.signal(h, signal.SIGKILL)  # likewise, and no stranger hit
        assert len(exits.seen) == 1
        await backend.close()
    run(scenario)


def test_output_env_cwd_and_stdin_of_the_child(tmp_path: Path) -> None:
    work = tmp_path / "work dir"
    work.mkdir()
    log = tmp_path / "logs" / "t" / "p.log"
    script = 'echo out; echo err >&2; echo "$FOO"; pwd; cat; echo "$HOME"'

    async def scenario() -> None:
        backend, exits = make_backend()
        for _ in range(2):  # a second run appends, never truncates
            await backend.spawn(spec(work, env={"FOO": "bar baz"}), sh(script), log)
            _, info = await exits.next()
            assert info == ExitInfo(code=0)  # `cat` read EOF at once: stdin is /dev/null
        once = ["out", "err", "bar baz", str(work), os.environ["HOME"]]
        assert log.read_text().splitlines() == once * 2
        assert stat.S_IMODE(log.stat().st_mode) == 0o600
        assert backend.read_output(None, log, 2) == once[-2:]
        await backend.close()
    run(scenario)


def test_rotation_keeps_n_files_while_the_child_goes_on_writing(tmp_path: Path) -> None:
    from wezparallel.backends.logfile import backup_path, rotate_if_needed

    log = tmp_path / "p.log"
    script = "i=0; while :; do i=$((i+1)); echo line $i; sleep 0.005; done"

    def numbers(path: Path) -> list[int]:
        return [int(line.split()[1]) for line in path.read_text().splitlines()]

    async def scenario() -> None:
        backend, _ = make_backend()
        h = await backend.spawn(spec(tmp_path), sh(script), log)
        for _ in range(4):
            retry_until(lambda: rotate_if_needed(log, max_bytes=300, files=3), WAIT,
                        0.01, "the log to reach 300 bytes")
        last_rotated = numbers(backup_path(log, 1))[-1]
        retry_until(lambda: log.exists() and numbers(log) and numbers(log)[-1] > last_rotated,
                    WAIT, 0.01, "the child to write after the rotation")
        await backend.stop(h, signal.SIGTERM, WAIT)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["p.log", "p.log.1", "p.log.2"]
        assert b"\0" not in log.read_bytes()  # appended at the new end, no hole
        older, newer, live = (numbers(backup_path(log, 2)), numbers(backup_path(log, 1)),
                              numbers(log))
        assert older[-1] < newer[0] and newer[-1] < live[0]
        await backend.close()
    run(scenario)


def test_read_output_gives_the_last_lines(tmp_path: Path) -> None:
    async def scenario() -> None:
        backend, exits = make_backend()
        log = tmp_path / "p.log"
        h = await backend.spawn(spec(tmp_path), sh("for i in 1 2 3 4 5; do echo $i; done"), log)
        await exits.next()
        assert backend.read_output(h, log, 3) == ["3", "4", "5"]
        assert backend.read_output(h, tmp_path / "none.log", 3) == []
        await backend.close()
    run(scenario)


@pytest.mark.parametrize(("case", "expected"), [
    ("missing-program", "t:p: no such program 'no-such-program-wp' (cwd {cwd})"),
    ("missing-cwd", "t:p: working directory {cwd}/gone does not exist or is not a directory"),
    ("not-executable", "t:p: permission denied running './data.txt' (cwd {cwd})"),
    ("empty", "t:p: nothing to run (empty command)"),
])
def test_spawn_errors_say_what_and_where(tmp_path: Path, case: str, expected: str) -> None:
    (tmp_path / "data.txt").write_text("not a program\n")
    cwd, argv = {
        "missing-program": (tmp_path, ("no-such-program-wp", "--x")),
        "missing-cwd": (tmp_path / "gone", ("true",)),
        "not-executable": (tmp_path, ("./data.txt",)),
        "empty": (tmp_path, ()),
    }[case]

    async def scenario() -> None:
        backend, exits = make_backend()
        with pytest.raises(SpawnError) as err:
            await backend.spawn(spec(cwd), argv, tmp_path / "p.log")
        assert str(err.value) == expected.format(cwd=tmp_path)
        await backend.close()
        assert exits.seen == []
    run(scenario)


def test_close_lets_go_without_killing_and_reports_nothing_after(tmp_path: Path) -> None:
    async def scenario() -> None:
        backend, exits = make_backend()
        h = await backend.spawn(spec(tmp_path), ("sleep", "600"), tmp_path / "p.log")
        await backend.close(leave_running=True)
        assert procinfo.is_same_process(h.pid, h.create_time)
        os.kill(h.pid, signal.SIGKILL)
        os.waitpid(h.pid, 0)  # ours to reap now
        for _ in range(5):
            await asyncio.sleep(0)  # a readable pidfd would be seen now
        assert exits.seen == []
    run(scenario)


def test_running_out_of_file_descriptors_is_a_temporary_failure(tmp_path: Path) -> None:
    """Issue 16.11: EMFILE at a step of a spawn made the process FATAL; it passes. The limit
    rises one descriptor at a time, so each step of the spawn runs out in turn."""
    import resource

    from wezparallel.errors import OutOfResources

    async def attempt(backend: SubprocessBackend, spare: int) -> Handle | str:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")) + spare,
                                                    hard))
        try:
            return await backend.spawn(spec(tmp_path), ("sleep", "30"), tmp_path / "p.log")
        except OutOfResources as exc:
            return str(exc)
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    async def scenario() -> None:
        backend, exits = make_backend()
        failures = []
        for spare in range(10):
            outcome = await attempt(backend, spare)
            if isinstance(outcome, Handle):
                await backend.stop(outcome, signal.SIGTERM, WAIT)
                await exits.next()
                break
            failures.append(outcome)
        assert failures and all("Too many open files" in f for f in failures)
        assert len(failures) < 10
        await backend.close()
    run(scenario)
