"""The `--settings` file that makes Claude Code report its activity to the daemon.

Each hook event runs the reporter (`wezparallel/agents/report.py`) with the agent's id and the
event name, as a script rather than with `-m`, under the daemon's own interpreter with `-I -S`:

- `-S` skips `site`, whose editable-install finder alone costs ~25 ms per run; the reporter is
  stdlib-only, so it needs no site-packages (measured: 52 ms instead of 68 ms per hook on a
  loaded 2-core machine, and PreToolUse runs it on every tool use);
- `-I` ignores PYTHON* variables and the cwd, which is the agent's checkout of some project.

Matchers are left out, which matches every tool (PreToolUse) and every source (SessionStart).

`--spool` names the file where the reporter leaves an event the daemon could not be reached
for (it is down: a restart, an upgrade); the next daemon applies it on start
(`wezparallel.runtime.hook_spool`). An absolute path in the daemon's private state dir,
passed like the socket, because the reporter may import nothing of ours to derive it.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path
from typing import Any

from wezparallel.paths import ensure_private_dir

HOOK_EVENTS = (
    "SessionStart", "UserPromptSubmit", "PreToolUse", "Notification", "Stop", "StopFailure",
    "SessionEnd",
)
"""StopFailure (Claude Code >= 2.1.78) ends a turn that failed on an API error (not logged in,
rate limit...) instead of Stop: without it such a turn would leave the agent busy for good."""
REPORTER = Path(__file__).with_name("report.py")
SPOOL_FILE = "hooks.spool"
REPORT_TIMEOUT = 1.0  # seconds the reporter may spend in total
HOOK_TIMEOUT = 10  # seconds after which Claude Code itself kills a hook command


def spool_path(state_dir: str | os.PathLike[str]) -> Path:
    """The hook spool of the daemon whose state dir this is."""
    return Path(state_dir) / SPOOL_FILE


def reporter_command(socket_path: str | os.PathLike[str], process_id: str, event: str, *,
                     python: str | None = None, timeout: float = REPORT_TIMEOUT,
                     spool: str | os.PathLike[str] | None = None) -> str:
    """The shell command line one hook runs (Claude Code runs hook commands through a shell)."""
    argv = [
        python or sys.executable, "-I", "-S", os.fspath(REPORTER),
        "--socket", os.fspath(socket_path), "--id", process_id,
        "--timeout", f"{timeout:g}",
        *(["--spool", os.fspath(spool)] if spool is not None else []), event,
    ]
    return shlex.join(argv)


def hooks_settings(socket_path: str | os.PathLike[str], process_id: str, *,
                   python: str | None = None, spool: str | os.PathLike[str] | None = None,
                   events: tuple[str, ...] = HOOK_EVENTS) -> dict[str, Any]:
    """The settings document: one command hook per event."""
    hooks = {
        event: [{"hooks": [{
            "type": "command",
            "command": reporter_command(socket_path, process_id, event, python=python,
                                        spool=spool),
            "timeout": HOOK_TIMEOUT,
        }]}]
        for event in events
    }
    return {"hooks": hooks}


def settings_path(state_dir: str | os.PathLike[str], workspace: str, name: str) -> Path:
    """Where an agent's settings file lives: one per agent, under the daemon's state dir."""
    return Path(state_dir) / "agents" / workspace / f"{name}.settings.json"


def write_settings(path: str | os.PathLike[str], settings: dict[str, Any]) -> Path:
    """Write atomically (a half-written file would be silently ignored by `claude -p`)."""
    target = Path(path)
    ensure_private_dir(target.parent)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(settings, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.chmod(tmp, 0o600)
    os.replace(tmp, target)
    return target
