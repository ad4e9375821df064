"""A tmux server that stops answering (SIGSTOP) must not freeze the daemon: the socket answers,
the headless backend's crashes are restarted, and once the server runs again its pane's
process comes back."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable

from tests.support import DaemonProcess, retry_until

FAST = 2.0  # seconds: far below tmux_cmd.TIMEOUT (15 s), far above a ping on a loaded machine


def timed(d: DaemonProcess, *args: str) -> float:
    begun = time.monotonic()
    out = d.ctl(*args, timeout=60)
    assert out.returncode == 0, out.stderr
    return time.monotonic() - begun


def test_a_stopped_tmux_server_stalls_neither_the_socket_nor_the_other_backend(
        daemon_factory: Callable[..., DaemonProcess]) -> None:
    d = daemon_factory(backend="tmux")
    conf = {"workspace": "mix", "processes": {
        "pane": {"backend": "tmux", "command": ["sleep", "600"], "start_secs": 0},
        "head": {"backend": "subprocess", "command": ["sleep", "600"], "start_secs": 0}}}
    (d.conf / "mix.yaml").write_text(json.dumps(conf))
    d.start()
    pane = d.wait_state("mix:pane", "RUNNING")["pid"]
    head = d.wait_state("mix:head", "RUNNING")["pid"]
    sock = str(d.state / "tmux.sock")
    server = int(subprocess.run(["tmux", "-S", sock, "display-message", "-p", "#{pid}"],
                                capture_output=True, text=True, check=True,
                                timeout=30).stdout)
    status = json.loads((d.state / "panes" / "mix" / "pane.json").read_text())
    os.kill(server, signal.SIGSTOP)
    try:
        os.kill(status["pid"], signal.SIGKILL)  # its restart now waits on the stopped server
        retry_until(lambda: d.process("mix:pane")["pid"] != pane, 10, 0.05,
                    "the pane's exit to be seen")
        took = [timed(d, "ping") for _ in range(5)] + [timed(d, "status", "--json")]
        assert max(took) < FAST, took
        os.kill(head, signal.SIGKILL)
        fresh = retry_until(lambda: (p := d.process("mix:head"))["state"] == "RUNNING"
                            and p["pid"] not in (None, head) and p, 5, 0.05,
                            "the headless process to be restarted")
        assert fresh["pid"] != head
        assert d.process("mix:pane")["state"] != "RUNNING"  # its start is still waiting
    finally:
        os.kill(server, signal.SIGCONT)
    back = d.wait_state("mix:pane", "RUNNING", 40)
    assert back["pid"] not in (None, pane)
    assert max(timed(d, "ping") for _ in range(3)) < FAST
