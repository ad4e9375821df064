"""A daemon whose workspaces name no plugin probe kind reads no distribution's metadata on its
way to the first starts: plugins are discovered later, once (a real daemon, observed through
CPython's own import trace, which shares the daemon's log stream)."""

from __future__ import annotations

import json
import re

import pytest

from tests.support import retry_until

CONF = "workspace: w\nprocesses:\n" + "".join(
    f"  p{i}: {{command: sleep 600, start_secs: 0}}\n" for i in range(3))


def _import_line(log: str, module: str) -> int | None:
    for number, line in enumerate(log.splitlines(), 1):
        if line.startswith("import time:") and line.rstrip().endswith(f" {module}"):
            return number
    return None


def test_no_entry_point_is_read_before_the_first_starts(
        daemon_factory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPROFILEIMPORTTIME", "1")
    d = daemon_factory({"w.yaml": CONF}).start()
    for i in range(3):
        d.wait_state(f"w:p{i}", "RUNNING")
    lines = d.daemon_log().splitlines()
    forks = [n for n, line in enumerate(lines, 1) if re.search(r": w:p\d: started pid ", line)]
    assert len(forks) == 3
    # discovery comes once the first starts are done; the trace shows it when it happens
    metadata = retry_until(lambda: _import_line(d.daemon_log(), "importlib.metadata"), 15,
                           0.05, "plugin discovery after the first starts")
    assert metadata > max(forks)
    listed = d.ctl("plugins", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout) == {"plugins": []}
