"""Runtime state that must outlive the daemon: who runs where, and what the user wants.

Written atomically (temp file, fsync, rename, fsync of the directory) so a crash mid-write
leaves the previous file intact; a file cut short or corrupted anyway is reported and ignored,
never a reason not to start.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from wezparallel.paths import ensure_private_dir

log = logging.getLogger(__name__)

VERSION = 1


class StateFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, dict[str, Any]]:
        """Per process id, its saved record; empty when there is nothing usable."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            log.warning("state file %s unreadable (%s); starting without it", self.path, exc)
            return {}
        try:
            data = json.loads(raw)
            if not isinstance(data, dict) or data.get("version") != VERSION:
                raise ValueError("unknown format")
            processes = data["processes"]
            if not isinstance(processes, dict):
                raise ValueError("processes is not an object")
            return {str(k): v for k, v in processes.items() if isinstance(v, dict)}
        except (ValueError, KeyError) as exc:
            log.warning("state file %s is damaged (%s); starting without it", self.path, exc)
            return {}

    def save(self, processes: dict[str, dict[str, Any]]) -> None:
        ensure_private_dir(self.path.parent)
        payload = json.dumps({"version": VERSION, "processes": processes},
                             separators=(",", ":"), sort_keys=True).encode()
        fd, tmp = tempfile.mkstemp(prefix=".state-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(payload)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
