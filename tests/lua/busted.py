"""Running busted (Lua 5.4) from pytest: a missing busted or lua5.4 is a failure, not a skip;
`make deps` installs both from Debian."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

LUA_DIR = Path(__file__).resolve().parents[2] / "lua"


def _busted() -> str:
    busted = shutil.which("busted")
    if busted is None or shutil.which("lua5.4") is None:
        pytest.fail("busted and lua5.4 are needed for the Lua specs: "
                    "apt-get install lua5.4 lua-busted (or `make deps`)")
    return busted


def run_busted(args: list[str], env: dict[str, str] | None = None) -> None:
    """Runs busted in lua/ on `args` (default: the specs under lua/spec) and fails the test,
    with busted's report, unless at least one spec ran and none failed."""
    result = subprocess.run(
        [_busted(), "--lua=lua5.4", "--output=TAP", *args], cwd=LUA_DIR, env=env,
        capture_output=True, text=True, timeout=120, check=False)
    report = result.stdout + result.stderr
    failed = [line for line in report.splitlines() if line.startswith("not ok")]
    passed = re.findall(r"^ok \d+", result.stdout, flags=re.MULTILINE)
    assert result.returncode == 0 and not failed, report
    assert passed, f"busted ran no specs:\n{report}"
