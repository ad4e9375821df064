"""Shell completion through the real console script, the way bash asks for it: verbs, then
process ids and workspaces from a live daemon, or from the conf dir when it is down."""

from __future__ import annotations

import os
import subprocess
import time

from tests.support import DaemonProcess, script

CONF = """
workspace: web
processes:
  api: {command: sleep 600, start_secs: 0}
  worker: {command: sleep 601, start_secs: 0}
"""


def complete(*words: str, daemon: DaemonProcess | None = None,
             socket: str | None = None, conf: str | None = None) -> tuple[list[str], str]:
    """The candidates bash would offer for the last word of `wezparctl WORDS...`."""
    prefix = ["wezparctl"]
    if daemon is not None:
        prefix += ["--socket", str(daemon.socket), "--conf-dir", str(daemon.conf)]
    if socket is not None:
        prefix += ["--socket", socket]
    if conf is not None:
        prefix += ["--conf-dir", conf]
    argv = [*prefix, *words]
    env = {**os.environ, "_WEZPARCTL_COMPLETE": "bash_complete",
           "COMP_WORDS": " ".join(argv), "COMP_CWORD": str(len(argv) - 1)}
    done = subprocess.run([script("wezparctl")], env=env, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    return [line.split(",", 1)[1] for line in done.stdout.splitlines() if line], done.stderr


def test_verbs_complete() -> None:
    values, _ = complete("sta")
    assert values == ["start", "status"]


def test_ids_and_workspaces_come_from_the_running_daemon(daemon_factory) -> None:
    d: DaemonProcess = daemon_factory({"web.yaml": CONF}, watch=False).start()
    d.wait_state("web:api", "RUNNING")
    # processes that are only in the daemon (their file now says otherwise, not reloaded)
    # prove that the daemon was asked
    (d.conf / "web.yaml").write_text(CONF.replace("web", "other"))
    assert complete("logs", "web:w", daemon=d)[0] == ["web:worker"]
    assert complete("stop", "w", daemon=d)[0] == ["web:api", "web:worker", "web", "web:*"]
    assert complete("layout", "", daemon=d)[0] == ["web"]
    assert complete("task", "assign", "t1", "web:a", daemon=d)[0] == ["web:api"]


def test_a_daemon_that_is_down_falls_back_to_the_conf_dir_without_a_word(tmp_path) -> None:
    (tmp_path / "web.yaml").write_text(CONF)
    started = time.monotonic()
    values, err = complete("restart", "web:", socket=str(tmp_path / "none.sock"),
                           conf=str(tmp_path))
    assert values == ["web:api", "web:worker", "web:*"]
    assert err == "" and time.monotonic() - started < 10
    values, err = complete("capture", "", socket=str(tmp_path / "none.sock"),
                           conf=str(tmp_path / "nothing"))
    assert (values, err) == ([], "")
    values, err = complete("logs", "", socket=str(tmp_path / "none.sock"),
                           conf=str(tmp_path / "nothing"))
    assert (values, err) == (["all"], "")  # logs takes patterns: `all` is always one
