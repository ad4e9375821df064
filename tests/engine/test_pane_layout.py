"""Panes come and go with their processes, through a real daemon on `--backend tmux`: a
process stopped for good leaves the workspace window (its last screen kept in the `stopped`
window), one removed from the config closes its pane, and the window is laid out again."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable

from tests.support import DaemonProcess, retry_until

SAYS = "echo I-am-{name}; exec sleep 600"


def panes(d: DaemonProcess) -> list[tuple[str, bool, int]]:
    """(window name, dead, width) of every pane of the workspace's session."""
    out = subprocess.run(["tmux", "-S", str(d.state / "tmux.sock"), "list-panes", "-s", "-t",
                          "=wezparallel-w", "-F", "#{window_name} #{pane_dead} #{pane_width}"],
                         capture_output=True, text=True, check=True, timeout=30).stdout
    return [(w, dead == "1", int(width)) for w, dead, width in
            (line.split() for line in out.splitlines())]


def laid_out(d: DaemonProcess, live: int) -> list[tuple[str, bool, int]] | None:
    """The panes, once the workspace window holds exactly `live` panes, all alive and of
    equal width (columns)."""
    rows = panes(d)
    window = [r for r in rows if r[0] != "stopped"]
    ok = len(window) == live and not any(dead for _, dead, _ in window) \
        and max(w for *_, w in window) - min(w for *_, w in window) <= 2
    return rows if ok else None


def conf(names: list[str]) -> str:
    procs = {n: {"command": ["sh", "-c", SAYS.format(name=n)], "start_secs": 0}
             for n in names}
    return json.dumps({"workspace": "w", "backend": "tmux", "layout": "columns",
                       "processes": procs})


def test_a_stopped_process_leaves_the_window_and_returns_on_start(
        daemon_factory: Callable[..., DaemonProcess]) -> None:
    d = daemon_factory(backend="tmux")
    (d.conf / "w.yaml").write_text(conf(["a", "b", "c"]))
    d.start()
    for n in "abc":
        d.wait_state(f"w:{n}", "RUNNING")
    retry_until(lambda: laid_out(d, 3), 10, 0.05, "three columns")
    assert d.ctl("stop", "w:a").returncode == 0
    rows = retry_until(lambda: laid_out(d, 2), 10, 0.05, "two columns left")
    assert [r[0] for r in rows].count("stopped") == 1
    out = d.ctl("capture", "w:a")
    assert out.returncode == 0 and "I-am-a" in out.stdout  # the last screen is kept
    assert d.ctl("start", "w:a").returncode == 0
    d.wait_state("w:a", "RUNNING")
    rows = retry_until(lambda: laid_out(d, 3), 10, 0.05, "three columns again")
    assert all(r[0] != "stopped" for r in rows)


def test_a_process_removed_from_the_config_closes_its_pane(
        daemon_factory: Callable[..., DaemonProcess]) -> None:
    d = daemon_factory(backend="tmux")
    (d.conf / "w.yaml").write_text(conf(["a", "b", "c"]))
    d.start()
    retry_until(lambda: laid_out(d, 3), 15, 0.05, "three columns")
    (d.conf / "w.yaml").write_text(conf(["a", "c"]))
    rows = retry_until(lambda: laid_out(d, 2), 15, 0.05, "two columns")
    assert len(rows) == 2  # nothing parked: the pane is closed
