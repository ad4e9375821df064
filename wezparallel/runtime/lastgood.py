"""Each workspace file's last good version, kept on disk so it outlives the daemon.

The daemon keeps running a broken file's last good version (see `config`), but only as long
as it remembers that version: a daemon restarted while a file was broken used to find nothing
valid in it and stop everything it had run (issue 16.3). So the bytes each file was last
built from are copied to the state dir whenever they change, and a file that is broken when
the daemon starts is built from its copy instead, under its own name, so paths resolve
as they did.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path

from wezparallel.runtime.statefile import write_atomically

log = logging.getLogger(__name__)


class LastGood:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._written: dict[str, str] = {}  # file -> digest of the copy we wrote or read

    def remember(self, sources: Mapping[str, Mapping[str, bytes]]) -> None:
        """Copy each valid file's bytes (its overlay's too) if they changed since last time."""
        for file, texts in sources.items():
            payload = json.dumps({"file": file, "texts": {
                name: raw.decode("utf-8", "surrogateescape") for name, raw in texts.items()}},
                sort_keys=True).encode()
            digest = hashlib.sha256(payload).hexdigest()
            if self._written.get(file) == digest:
                continue
            try:
                write_atomically(self._path(file), payload)
            except OSError as exc:
                log.error("cannot keep the last good version of %s in %s: %s", file,
                          self.directory, exc)
                continue
            self._written[file] = digest

    def recall(self, file: str) -> dict[str, bytes] | None:
        """The bytes `file` (and its overlay) were last built from; None when unknown."""
        try:
            data = json.loads(self._path(file).read_bytes())
            if data["file"] != file:
                return None
            return {str(name): str(text).encode("utf-8", "surrogateescape")
                    for name, text in data["texts"].items()}
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("ignoring the damaged last good copy of %s: %s", file, exc)
            return None

    def forget(self, file: str) -> None:
        """The file is gone: a new file by that name starts with no past."""
        self._written.pop(file, None)
        try:
            self._path(file).unlink(missing_ok=True)
        except OSError as exc:
            log.warning("cannot remove the last good copy of %s: %s", file, exc)

    def _path(self, file: str) -> Path:
        return self.directory / f"{hashlib.sha256(os.fsencode(file)).hexdigest()[:16]}.json"
