"""The service definitions that run the daemon under a service manager: pure text, no I/O.

Two choices carry the design. The daemon's own children must outlive a restart of the daemon,
because a new daemon re-adopts them: systemd is told `KillMode=process` and launchd
`AbandonProcessGroup`, so a crash and restart never restarts an agent. And a service manager
starts programs with a bare environment, so the PATH of the person who installs the service is
written into it: the agents' `claude`, `tmux`, `git` and the user's own tools are found as they
were in the shell that ran `wezparctl service install`.
"""

from __future__ import annotations

import plistlib
from dataclasses import dataclass
from pathlib import Path

UNIT_NAME = "wezparallel.service"
LAUNCHD_LABEL = "dev.wezparallel.daemon"
DOCS_URL = "https://github.com/wezparallel/wezparallel"


@dataclass(frozen=True)
class ServiceSpec:
    """What the service runs: the daemon binary and the locations every command agrees on."""

    daemon: Path  # absolute path of the `wezparallel` script
    conf_dir: Path
    state_dir: Path
    socket: Path
    path_env: str  # PATH for the daemon and everything it starts
    user: str | None = None  # for a system-wide unit: whose daemon it is

    def argv(self) -> list[str]:
        return [str(self.daemon), "--conf-dir", str(self.conf_dir),
                "--state-dir", str(self.state_dir), "--socket", str(self.socket)]


def _systemd_quote(word: str) -> str:
    """Quote one ExecStart word the way systemd.syntax(7) reads it back."""
    if word and all(c.isalnum() or c in "/._-+:=@," for c in word):
        return word
    escaped = word.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    return f'"{escaped}"'


def systemd_unit(spec: ServiceSpec) -> str:
    """A unit that restarts the daemon when it fails and leaves its children to the next one."""
    exec_start = " ".join(_systemd_quote(word) for word in spec.argv())
    service = [
        "Type=simple",
        f"ExecStart={exec_start}",
        "Restart=on-failure",
        "RestartSec=2",
        "# The daemon re-adopts what it started: a restart of the daemon must not kill them.",
        "KillMode=process",
        "TimeoutStopSec=90",
        f"Environment={_systemd_quote('PATH=' + spec.path_env)}",
    ]
    if spec.user is not None:
        service.insert(0, f"User={spec.user}")
    return "\n".join([
        "[Unit]",
        "Description=wezparallel: Claude Code agents and dev servers, supervised",
        f"Documentation={DOCS_URL}",
        "",
        "[Service]",
        *service,
        "",
        "[Install]",
        f"WantedBy={'multi-user.target' if spec.user is not None else 'default.target'}",
        "",
    ])


def launchd_plist(spec: ServiceSpec) -> bytes:
    """A launchd agent: started at login, restarted when it did not exit cleanly."""
    logs = spec.state_dir / "daemon.log"
    return plistlib.dumps({
        "Label": LAUNCHD_LABEL,
        "ProgramArguments": spec.argv(),
        "EnvironmentVariables": {"PATH": spec.path_env},
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},
        "AbandonProcessGroup": True,
        "StandardOutPath": str(logs),
        "StandardErrorPath": str(logs),
    })


def user_unit_dir(home: Path, config_home: str | None) -> Path:
    base = Path(config_home) if config_home else home / ".config"
    return base / "systemd" / "user"


def launch_agents_dir(home: Path) -> Path:
    return home / "Library" / "LaunchAgents"
