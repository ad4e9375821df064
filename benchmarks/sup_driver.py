"""supervisord 4.3 from PyPI, in its own venv, driven the way its users drive it.

It runs from `benchmarks/.venv` (created on first use) so the project's venv never depends on
it. Its API is XML-RPC over the unix socket; the client here is the standard library's, so the
harness process does not import supervisor at all.
"""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
import xmlrpc.client
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from benchmarks import harness as h
from benchmarks.session import Observed, Tool

VERSION = "4.3.0"
VENV = Path(__file__).resolve().parent / ".venv"
TOOL = "supervisord"


def ensure_installed(venv: Path = VENV) -> Path:
    """The bench venv's bin dir with supervisor==4.3.0 in it, installed from PyPI if missing."""
    bin_dir = venv / "bin"
    probe = h.run_command([str(bin_dir / "supervisord"), "--version"]) \
        if (bin_dir / "supervisord").exists() else None
    if probe is not None and probe.stdout.strip() == VERSION:
        return bin_dir
    print(f"benchmarks: installing supervisor=={VERSION} into {venv}", file=sys.stderr)
    base = getattr(sys, "_base_executable", sys.executable)
    for argv in ([base, "-m", "venv", str(venv)],
                 [str(bin_dir / "pip"), "install", "--quiet", f"supervisor=={VERSION}"]):
        done = h.run_command(argv, timeout=300)
        if done.returncode != 0:
            raise h.BenchError(f"{' '.join(argv)} failed: {done.stderr.strip()[-500:]}")
    return bin_dir


def render_conf(workdir: Path, programs: Mapping[str, str]) -> str:
    """supervisord.conf for these programs, set like the wezparallel workspace: no start delay,
    always restarted, stopped as a group."""
    head = f"""[unix_http_server]
file={workdir}/supervisor.sock

[supervisord]
logfile={workdir}/supervisord.log
pidfile={workdir}/supervisord.pid
childlogdir={workdir}
loglevel=warn
minfds=8192

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{workdir}/supervisor.sock
"""
    sections = [f"""
[program:{name}]
command={command}
startsecs=0
autorestart=true
stopasgroup=true
killasgroup=true
""" for name, command in programs.items()]
    return head + "".join(sections)


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class _UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path: str) -> None:
        super().__init__()
        self._path = path

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        if self._connection[1] is None:
            self._connection = (host, _UnixConnection(self._path, 10.0))
        conn = self._connection[1]
        assert conn is not None
        return conn


def rpc(socket_path: Path) -> xmlrpc.client.ServerProxy:
    """A new XML-RPC client on the socket, like `supervisorctl` opens (close it when done)."""
    return xmlrpc.client.ServerProxy("http://localhost/RPC2",
                                     transport=_UnixTransport(str(socket_path)))


def _observed(info: Any) -> Observed:
    return Observed(str(info["statename"]), int(info["pid"]) or None)


class SupervisordSession:
    """supervisord in the foreground (`-n`) on a conf file in `workdir`."""

    tool = TOOL

    def __init__(self, bin_dir: Path, workdir: Path, programs: Mapping[str, str]) -> None:
        self.bin_dir = bin_dir
        self.workdir = workdir
        self.conf = workdir / "supervisord.conf"
        self.socket = workdir / "supervisor.sock"
        self.save_programs(programs)
        self._poller: xmlrpc.client.ServerProxy | None = None
        with open(workdir / "supervisord.stderr", "wb") as err:
            self.launched_at = h.now()
            self.proc = subprocess.Popen(
                [str(bin_dir / "supervisord"), "-n", "-c", str(self.conf)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                start_new_session=True, cwd=workdir)
        self.daemon_pid = self.proc.pid

    def states(self) -> dict[str, Observed] | None:
        try:
            with rpc(self.socket) as proxy:
                infos: Any = proxy.supervisor.getAllProcessInfo()
        except (OSError, xmlrpc.client.Fault, http.client.HTTPException):
            return None
        return {str(i["name"]): _observed(i) for i in infos}

    def look(self) -> None:
        with rpc(self.socket) as proxy:
            proxy.supervisor.getAllProcessInfo()

    def state_of(self, name: str) -> Observed | None:
        if self._poller is None:
            self._poller = rpc(self.socket)
        try:
            return _observed(self._poller.supervisor.getProcessInfo(name))
        except (OSError, xmlrpc.client.Fault, http.client.HTTPException):
            self._close_poller()
            return None

    def status_command(self) -> list[str]:
        return [str(self.bin_dir / "supervisorctl"), "-c", str(self.conf), "status"]

    def save_programs(self, programs: Mapping[str, str]) -> None:
        self.conf.write_text(render_conf(self.workdir, programs), encoding="utf-8")

    def apply_saved(self) -> None:
        for verb in ("reread", "update"):
            done = h.run_command([str(self.bin_dir / "supervisorctl"), "-c", str(self.conf), verb])
            if done.returncode != 0:
                raise h.BenchError(f"supervisorctl {verb} failed: {done.stdout}{done.stderr}")

    def exited(self) -> str | None:
        code = self.proc.poll()
        if code is None:
            return None
        return f"status {code}: {h.last_line(self.workdir / 'supervisord.stderr')}"

    def close(self) -> None:
        self._close_poller()
        h.stop_daemon(self.proc)

    def _close_poller(self) -> None:
        if self._poller is not None:
            self._poller("close")()
            self._poller = None


def tool(bin_dir: Path) -> Tool:
    def launch(workdir: Path, programs: Mapping[str, str]) -> SupervisordSession:
        return SupervisordSession(bin_dir, workdir, programs)

    return Tool(TOOL, launch)

