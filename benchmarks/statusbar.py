"""The WezTerm status bar's cost per refresh: the Lua module reading the daemon's status file,
against the old way, one `wezparctl status --json` run per refresh.

A daemon runs the workspace of sleeps; once its `status.json` shows them all RUNNING, busted
(Lua 5.4) runs `lua/bench/statusbar_spec.lua`: the real module, with the WezTerm stand-in,
refreshes a window's right status N times, each refresh reading the file, and reports the Lua
process's CPU time per refresh (`os.clock`) and how many processes the refreshes started: once
with the file as the daemon left it (the common case: the daemon rewrites it only on a visible
change and every 10 s, and the module does not decode a text it has already seen), once as if
it had changed before every refresh (decoded each time). The stand-in decodes with the specs'
pure-Lua JSON decoder; WezTerm's `json_parse` is native, so in WezTerm a changed file costs
less than measured here. The old way is timed as the
CPU time (user + system, from `getrusage` of children) of one `wezparctl status --json` run.
wezparallel only: supervisord has no status bar.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import tempfile
from pathlib import Path

from benchmarks import harness as h
from benchmarks.footprint import START_TIMEOUT
from benchmarks.results import Figure, Measured
from benchmarks.session import Session, Tool, programs, running, wait_all_running
from benchmarks.wez_driver import BIN, WezparallelSession

LUA_DIR = Path(__file__).resolve().parent.parent / "lua"
SPEC = "bench/statusbar_spec.lua"
FILE_TIMEOUT = 10.0  # seconds for status.json to show every process RUNNING


def refreshes(b: h.Budget) -> int:
    return 200 if b.quick else 2000


def figures(b: h.Budget) -> list[Figure]:
    return [
        Figure("statusbar_refresh", f"status bar refresh, status.json unchanged, {b.processes} "
               f"processes (CPU, mean of {refreshes(b)})", "µs", both=False),
        Figure("statusbar_refresh_changed", f"status bar refresh, status.json changed "
               f"(decoded in pure Lua), {b.processes} processes (CPU, mean of {refreshes(b)})",
               "µs", both=False),
        Figure("statusbar_spawned", f"processes started by {2 * refreshes(b)} status bar "
               "refreshes", "count", both=False),
        Figure("statusbar_old", f"old status bar refresh: `wezparctl status --json`, "
               f"{b.processes} processes (CPU, median of {b.command_samples})", "µs",
               both=False),
    ]


def _file_shows_all(path: Path, count: int) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    states = [p.get("state") for p in data.get("processes", [])]
    return bool(data.get("daemon", {}).get("up")) and states.count("RUNNING") == count


def _busted(status_file: Path, b: h.Budget) -> dict[str, float]:
    busted = shutil.which("busted")
    if busted is None or shutil.which("lua5.4") is None:
        raise h.BenchError("busted and lua5.4 are needed (make deps)")
    with tempfile.TemporaryDirectory(prefix="wpsb-") as tmp:
        out = Path(tmp) / "figures"
        env = os.environ | {"WEZPARALLEL_BENCH_STATUS_FILE": str(status_file),
                            "WEZPARALLEL_BENCH_REFRESHES": str(refreshes(b)),
                            "WEZPARALLEL_BENCH_PROCESSES": str(b.processes),
                            "WEZPARALLEL_BENCH_OUT": str(out)}
        done = subprocess.run([busted, "--lua=lua5.4", "--output=TAP", SPEC], cwd=LUA_DIR,
                              env=env, capture_output=True, text=True, timeout=300, check=False)
        if done.returncode != 0 or not out.exists():
            report = done.stdout + done.stderr
            why = report[report.find("Failure message"):] if "not ok" in report else report
            raise h.BenchError(f"busted {SPEC} failed: {why[:300]}")
        pairs = (line.split() for line in out.read_text(encoding="utf-8").splitlines())
        return {name: float(value) for name, value in pairs}


def command_cpu_us(argv: list[str]) -> float:
    """CPU time of one run of `argv` (it and its children), in microseconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = h.run_command(argv)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if not done.stdout.strip():
        raise h.BenchError(f"{' '.join(argv)} printed nothing: {done.stderr.strip()[:300]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu * 1e6


def _session(session: Session) -> WezparallelSession:
    if not isinstance(session, WezparallelSession):
        raise h.BenchError(f"the status bar belongs to wezparallel, not {session.tool}")
    return session


def measure(tool: Tool, b: h.Budget) -> Measured:
    with running(tool, programs(b.processes)) as session:
        wez = _session(session)
        wait_all_running(session, b.processes, START_TIMEOUT)
        status_file = wez.state_dir / "status.json"
        h.wait_until(lambda: _file_shows_all(status_file, b.processes), FILE_TIMEOUT,
                     f"{status_file} to show {b.processes} RUNNING", interval=0.05)
        lua = _busted(status_file, b)
        old = [command_cpu_us([str(BIN / "wezparctl"), "--socket", str(wez.socket),
                               "status", "--json"]) for _ in range(b.command_samples)]
    return {"statusbar_refresh": lua["unchanged_us"],
            "statusbar_refresh_changed": lua["changed_us"],
            "statusbar_spawned": lua["processes_started"],
            "statusbar_old": h.median(old)}
