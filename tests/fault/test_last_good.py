"""Issue 16.3: a broken file keeps its last good version running, also across daemon restarts."""

from __future__ import annotations

import signal

import pytest

from tests.support import DaemonProcess, pid_alive, retry_until

GOOD = "workspace: w\nprocesses:\n  a: {command: [sleep, '300'], start_secs: 0}\n"
BROKEN = "workspace: w\nprocesses:\n  a: {command: [sleep, '300'\n"


@pytest.mark.parametrize("how", ["sigkill", "leave-running"])
def test_a_restart_while_a_file_is_broken_keeps_its_processes(daemon_factory, how: str) -> None:
    d: DaemonProcess = daemon_factory({"w.yaml": GOOD}, watch=False).start()
    pid = d.wait_state("w:a", "RUNNING")["pid"]
    (d.conf / "w.yaml").write_text(BROKEN)
    assert d.ctl("reload").returncode != 0  # the problem is reported
    if how == "sigkill":
        d.kill(signal.SIGKILL)
    else:
        assert d.ctl("shutdown", "--leave-running").returncode == 0
        assert d.proc is not None
        d.proc.wait(30)
    d.start()
    status = d.wait_state("w:a", "RUNNING")
    assert status["pid"] == pid and pid_alive(pid)
    assert "stop w:a" not in d.daemon_log()
    assert "running its last good version" in d.daemon_log()
    (d.conf / "w.yaml").write_text(GOOD.replace("300", "301"))  # fixed: the new version wins
    assert d.ctl("reload").returncode == 0
    retry_until(lambda: d.process("w:a")["pid"] != pid and not pid_alive(pid), 30, 0.05,
                "the fixed file's version to replace the kept one")


def test_a_deleted_file_does_not_come_back_from_its_copy(daemon_factory) -> None:
    d: DaemonProcess = daemon_factory({"w.yaml": GOOD}, watch=False).start()
    pid = d.wait_state("w:a", "RUNNING")["pid"]
    (d.conf / "w.yaml").unlink()
    assert d.ctl("reload").returncode == 0
    retry_until(lambda: not pid_alive(pid), 30, 0.05, "the deleted file's process to stop")
    (d.conf / "w.yaml").write_text(BROKEN)  # a new, broken file by the same name
    d.kill(signal.SIGKILL)
    d.start()
    assert all(p["id"] != "w:a" for p in d.status()["processes"])
