"""The cyclic garbage collector is held off while a daemon makes its way to its first
processes, and runs again once they settled (`cli.daemon.resume_collecting`).

The real entry point runs in a real process; a small driver only watches the collector: it
counts collections (`gc.callbacks`) and notes, at each of the daemon's calls to `gc.disable`,
`gc.freeze` and `gc.enable`, how many collections and children there were."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support import retry_until, short_tmpdir

PROCESSES = 20

DRIVER = """
import gc, json, os, sys
report = sys.argv[1]
collections = [0]
notes = {}

def count(phase, info):
    if phase == "start":
        collections[0] += 1

gc.callbacks.append(count)

def children():
    me = os.getpid()
    with open(f"/proc/{me}/task/{me}/children") as f:
        return len(f.read().split())

def watched(name, then):
    real = getattr(gc, name)
    def call():
        notes.setdefault(name, {"collections": collections[0], "children": children(),
                                "daemon imported": "wezparallel.cli.daemon" in sys.modules})
        real()
        then()
    setattr(gc, name, call)

def done():
    with open(report, "w") as out:
        json.dump(notes, out)

watched("disable", lambda: None)
watched("freeze", lambda: notes["freeze"].update(objects=gc.get_freeze_count()))
watched("enable", done)
sys.argv = ["wezparallel", *sys.argv[2:]]
from wezparallel.cli.entry import main  # the console script's entry point
main()
"""


def test_no_collection_until_the_first_starts_settled_then_frozen_and_on_again(
        tmp_path: Path) -> None:
    root = short_tmpdir()
    conf = root / "conf.d"
    conf.mkdir()
    lines = ["workspace: w", "processes:"] + [f"  p{i}: {{command: sleep 600}}"
                                              for i in range(PROCESSES)]
    (conf / "w.yaml").write_text("\n".join(lines) + "\n")
    report = tmp_path / "first-collection.json"
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    daemon = subprocess.Popen(
        [sys.executable, str(driver), str(report), "--conf-dir", str(conf),
         "--state-dir", str(root / "state"), "--socket", str(root / "wp.sock"),
         "--backend", "subprocess", "--no-dashboard", "--metrics-interval", "0.5"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        retry_until(report.exists, timeout=20, what="the collector to be on again")
        notes = json.loads(report.read_text())
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)
    assert notes["disable"]["daemon imported"] is False  # off before the daemon's imports
    # no collection from then until every first start was done, then frozen and on again
    assert notes["freeze"]["collections"] == notes["disable"]["collections"]
    assert notes["freeze"]["children"] == PROCESSES
    assert notes["freeze"]["objects"] > 10_000  # the start-up's objects, left out from now
    assert list(notes) == ["disable", "freeze", "enable"]
