"""wezparallel driven the way its users drive it: the daemon in the foreground on a conf dir,
`wezparctl` as the command, and the package's own socket client in-process.

The daemon and `wezparctl` run from `benchmarks/.venv-wezparallel`, where the working tree is
installed the way a user installs a release: a regular (not editable) `pip install`, pinned by
constraints.txt, so pip compiles the bytecode, as it did for supervisord in `benchmarks/.venv`.
The project's own venv installs the package editable, and on a machine that sets
PYTHONDONTWRITEBYTECODE every daemon started from it compiles its modules from source and
imports them through setuptools' editable finder: a cost no installed copy pays. The venv is
reinstalled whenever the package's source differs from what it holds.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from benchmarks import harness as h
from benchmarks.session import Observed, Tool
from wezparallel.errors import WezparallelError
from wezparallel.ipc.client import Client

TOOL = "wezparallel"
WORKSPACE = "bench"
ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / "benchmarks" / ".venv-wezparallel"
BIN = VENV / "bin"
STAMP = VENV / "wezparallel-source.sha256"
SOURCES = ("setup.cfg", "pyproject.toml", "constraints.txt", "wezparallel")


def source_digest(root: Path = ROOT) -> str:
    """SHA-256 over the files a `pip install` of the tree packages (paths and contents)."""
    digest = hashlib.sha256()
    for top in SOURCES:
        base = root / top
        files = [base] if base.is_file() else sorted(
            f for f in base.rglob("*") if f.is_file() and "__pycache__" not in f.parts)
        for f in files:
            digest.update(f.relative_to(root).as_posix().encode() + b"\0")
            digest.update(f.read_bytes() + b"\0")
    return digest.hexdigest()


def ensure_installed(venv: Path = VENV, root: Path = ROOT) -> Path:
    """The bench venv's bin dir with this working tree installed in it (not editable)."""
    bin_dir = venv / "bin"
    stamp = venv / STAMP.name
    wanted = source_digest(root)
    if (bin_dir / "wezparallel").exists() and stamp.exists() \
            and stamp.read_text(encoding="utf-8").strip() == wanted:
        return bin_dir
    print(f"benchmarks: installing wezparallel from {root} into {venv}", file=sys.stderr)
    base = getattr(sys, "_base_executable", sys.executable)
    steps = [] if (bin_dir / "pip").exists() else [[base, "-m", "venv", str(venv)]]
    # pip reinstalls a local tree even at the same version number
    steps.append([str(bin_dir / "pip"), "install", "--quiet", "-c", str(root / "constraints.txt"),
                  str(root)])
    for argv in steps:
        done = h.run_command(argv, timeout=600)
        if done.returncode != 0:
            raise h.BenchError(f"{' '.join(argv)} failed: {done.stderr.strip()[-500:]}")
    stamp.write_text(wanted + "\n", encoding="utf-8")
    return bin_dir


def render_workspace(programs: Mapping[str, str]) -> str:
    """One workspace file, set like the supervisord programs: no start delay, always restarted,
    and at once after any run (`reset_after: 0`, supervisord's rule), or the crash-recovery
    figure would time our crash-loop backoff instead of the restart."""
    lines = [f"workspace: {WORKSPACE}", "processes:"]
    lines += [f"  {name}: {{command: {command}, start_secs: 0, restart: always, "
              "backoff: {reset_after: 0}}"
              for name, command in programs.items()]
    return "\n".join(lines) + "\n"


def _observed(obj: Mapping[str, Any]) -> Observed:
    return Observed(str(obj["state"]), obj.get("pid") or None)


def _by_name(result: Any) -> dict[str, Observed]:
    return {str(p["id"]).partition(":")[2]: _observed(p) for p in result["processes"]}


class WezparallelSession:
    """The daemon on `workdir/conf.d`, its state and socket in `workdir`."""

    tool = TOOL

    def __init__(self, workdir: Path, programs: Mapping[str, str], backend: str = "subprocess",
                 watch: bool = False, extra: tuple[str, ...] = ()) -> None:
        self.workdir = workdir
        self.backend = backend
        self.conf_dir = workdir / "conf.d"
        self.state_dir = workdir / "state"
        self.socket = workdir / "wp.sock"
        self.conf_dir.mkdir()
        self.save_programs(programs)
        self._poller: Client | None = None
        argv = [str(BIN / "wezparallel"), "--conf-dir", str(self.conf_dir),
                "--state-dir", str(self.state_dir), "--socket", str(self.socket),
                "--backend", backend, "--watch" if watch else "--no-watch",
                "--log-level", "warning",
                # the dashboard only where a family asks for it: supervisord serves no page
                *([] if "--dashboard" in extra else ["--no-dashboard"]), *extra]
        with open(workdir / "wezparallel.stderr", "wb") as err:
            self.launched_at = h.now()
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=err,
                                         start_new_session=True, cwd=workdir)
        self.daemon_pid = self.proc.pid

    def states(self) -> dict[str, Observed] | None:
        try:
            with Client(self.socket) as client:
                return _by_name(client.call("status", {}))
        except WezparallelError:
            return None

    def look(self) -> None:
        with Client(self.socket) as client:
            client.call("metrics_snapshot", {})

    def state_of(self, name: str) -> Observed | None:
        if self._poller is None:
            self._poller = Client(self.socket)
        try:
            found = _by_name(self._poller.call("status", {"patterns": [f"{WORKSPACE}:{name}"]}))
        except WezparallelError:
            self._close_poller()
            return None
        return found.get(name)

    def status_command(self) -> list[str]:
        return [str(BIN / "wezparctl"), "--socket", str(self.socket), "status"]

    def save_programs(self, programs: Mapping[str, str]) -> None:
        (self.conf_dir / f"{WORKSPACE}.yaml").write_text(render_workspace(programs),
                                                         encoding="utf-8")

    def apply_saved(self) -> None:
        """Nothing: the daemon's watcher reloads on save (launch it with watch=True)."""

    def exited(self) -> str | None:
        code = self.proc.poll()
        if code is None:
            return None
        return f"status {code}: {h.last_line(self.workdir / 'wezparallel.stderr')}"

    def tmux_socket(self) -> Path:
        """The daemon's own tmux server (backend tmux): one per state dir."""
        return self.state_dir / "tmux.sock"

    def close(self) -> None:
        self._close_poller()
        h.stop_daemon(self.proc)
        if self.backend == "tmux" and self.tmux_socket().exists():
            h.run_command(["tmux", "-S", str(self.tmux_socket()), "kill-server"])

    def _close_poller(self) -> None:
        if self._poller is not None:
            self._poller.close()
            self._poller = None


def tool(backend: str = "subprocess", watch: bool = False, extra: tuple[str, ...] = ()) -> Tool:
    """`extra`: more daemon flags, e.g. ("--metrics-interval", "0")."""
    def launch(workdir: Path, programs: Mapping[str, str]) -> WezparallelSession:
        return WezparallelSession(workdir, programs, backend=backend, watch=watch, extra=extra)

    return Tool(TOOL, launch)
