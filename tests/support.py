"""Helpers for integration tests against real processes: deadlines, a real daemon."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def retry_until(fn: Callable[[], T | None], timeout: float = 10.0,
                interval: float = 0.02, what: str = "condition") -> T:
    """Poll a real-world condition until it holds; only for integration tests."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


async def retry_until_async(fn: Callable[[], object], timeout: float = 10.0,
                            interval: float = 0.02, what: str = "condition") -> None:
    """`retry_until` for a test that runs the daemon on its own event loop."""
    import asyncio

    deadline = time.monotonic() + timeout
    while not fn():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)


def script(name: str) -> str:
    """The installed console script next to this interpreter (the venv's bin)."""
    return str(Path(sys.executable).parent / name)


def short_tmpdir(prefix: str = "wp-") -> Path:
    """AF_UNIX socket paths are limited to ~107 bytes: pytest's tmp_path can be too long."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


def pid_alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return ") Z" not in stat


class DaemonProcess:
    """A real `wezparallel` daemon in a private directory, driven by the real `wezparctl`."""

    def __init__(self, conf_files: dict[str, str] | None = None, backend: str = "subprocess",
                 root: Path | None = None, watch: bool = True,
                 extra: tuple[str, ...] = (), relative: bool = False) -> None:
        self.watch = watch
        self.extra = extra  # more daemon flags
        self.relative = relative  # run in `root` and name every path relative to it
        self.root = root or short_tmpdir()
        self.conf = self.root / "conf.d"
        self.state = self.root / "state"
        self.socket = self.root / "run" / "wp.sock"
        self.conf.mkdir(exist_ok=True)
        for name, text in (conf_files or {}).items():
            (self.conf / name).write_text(text)
        self.backend = backend
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = self.root / "daemon.log"
        self.preexec: Callable[[], None] | None = None  # run in the daemon before exec

    def args(self) -> list[str]:
        paths = [self.conf, self.state, self.socket]
        if self.relative:
            paths = [p.relative_to(self.root) for p in paths]
        return ["--conf-dir", str(paths[0]), "--state-dir", str(paths[1]),
                "--socket", str(paths[2])]

    def start(self, wait: bool = True) -> DaemonProcess:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [script("wezparallel"), *self.args(),
                 "--backend", self.backend, "--log-level", "debug",
                 *([] if self.watch else ["--no-watch"]), *self.extra],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=self.root if self.relative else None, preexec_fn=self.preexec)
        if wait:
            retry_until(lambda: self.ctl("ping").returncode == 0, 15, 0.05, "daemon ping")
        return self

    def ctl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [script("wezparctl"), "--socket", str(self.socket),
             "--conf-dir", str(self.conf), "--state-dir", str(self.state), *args],
            capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    def status(self) -> dict[str, Any]:
        out = self.ctl("status", "--json")
        assert out.returncode in (0, 1), out.stderr
        return json.loads(out.stdout)  # type: ignore[no-any-return]

    def process(self, pid: str) -> dict[str, Any]:
        for p in self.status()["processes"]:
            if p["id"] == pid:
                return p  # type: ignore[no-any-return]
        raise AssertionError(f"no process {pid} in status")

    def wait_state(self, pid: str, state: str, timeout: float = 15.0) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            p = self.process(pid)
            return p if p["state"] == state else None
        return retry_until(check, timeout, 0.05, f"{pid} to be {state}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)
        self.proc.wait(timeout=30)

    def stop(self) -> int:
        """SIGTERM and wait: the daemon stops its processes and exits."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)

    def cleanup(self) -> None:
        try:
            self.stop()
        finally:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            shutil.rmtree(self.root, ignore_errors=True)

    def daemon_log(self) -> str:
        return self.log.read_text(errors="replace")



def git(cwd: Path, *args: str) -> str:
    """Run git in a test repository; failures raise, output is returned stripped."""
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          check=True, timeout=60).stdout.strip()


def make_repo(root: Path) -> Path:
    """A real git repository `root/repo` with one commit on `main`."""
    repo = root / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Test")
    git(repo, "config", "user.email", "test@example.com")
    (repo / "README").write_text("hello\n")
    git(repo, "add", "README")
    git(repo, "commit", "-q", "-m", "first")
    return repo
