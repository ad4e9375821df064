"""The one place that runs `wezterm cli`.

Every call goes through `WezTermCli.run`: the argv is logged at DEBUG, failures become
`BackendError`/`ProgramNotFound`, and the first call checks the WezTerm version once, so a release
lacking a verb we use fails with a message naming the verb and the release that added it rather
than with clap's "unrecognized subcommand" in the middle of a spawn.

Every call passes `--no-auto-start` and names its WezTerm in `WEZTERM_UNIX_SOCKET` (see
`wezterm_gui`): a call never starts a hidden mux server, and a GUI that went away is replaced by
the live one before the next call rather than after a failure.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from wezparallel.backends.wezterm_gui import find_socket, still_answers
from wezparallel.errors import BackendError, PermanentError, ProgramNotFound

log = logging.getLogger(__name__)

TIMEOUT = 15.0  # seconds one `wezterm cli` call may take before the mux counts as stuck

VERBS_SINCE: dict[str, int] = {
    "spawn": 20220624, "split-pane": 20220624, "list": 20220624, "list-clients": 20220624,
    "kill-pane": 20230326, "send-text": 20220624, "get-text": 20230320,
    "activate-pane": 20230326, "set-tab-title": 20230408,
}
"""Each `wezterm cli` verb the backend uses, and the first release (date) that has it."""


def parse_release(version_output: str) -> int | None:
    """`wezterm 20240203-110809-5046fc22` -> 20240203; None for builds without a date."""
    m = re.search(r"\b(20\d{6})-\d{6}", version_output)
    return int(m.group(1)) if m else None


def missing_verbs(release: int) -> list[str]:
    return sorted(v for v, since in VERBS_SINCE.items() if since > release)


@dataclass
class WezTermCli:
    program: str = "wezterm"
    _checked: bool = field(default=False, repr=False)
    _socket: Path | None = field(default=None, repr=False)

    def run(self, *args: str, stdin: str | None = None) -> str:
        """Run `wezterm cli --no-auto-start ARGS` against the live WezTerm; its stdout."""
        if not self._checked:
            self.check_version()
        socket = self.socket()
        return self._run(["cli", "--no-auto-start", *args], stdin,
                         {**os.environ, "WEZTERM_UNIX_SOCKET": str(socket)})

    def socket(self) -> Path:
        """The live WezTerm's socket: the last one while it answers, else found afresh."""
        if not still_answers(self._socket):
            self._socket = find_socket(os.environ)
            log.debug("wezterm: using %s", self._socket)
        assert self._socket is not None
        return self._socket

    def check_version(self) -> None:
        out = self._run(["--version"], None, None)
        self._checked = True
        release = parse_release(out)
        if release is None:  # a source build: trust it
            log.info("wezterm: cannot tell the release from %r; assuming it is recent", out)
            return
        missing = missing_verbs(release)
        if missing:
            needs = ", ".join(f"{v} (since {VERBS_SINCE[v]})" for v in missing)
            raise PermanentError(
                f"{self.program} {release} is too old for wezparallel: `wezterm cli` lacks "
                f"{needs}; install WezTerm {max(VERBS_SINCE.values())} or newer, "
                "or use backend: tmux")

    def _run(self, args: list[str], stdin: str | None,
             env: dict[str, str] | None) -> str:
        argv = [self.program, *args]
        log.debug("wezterm: %s", argv)
        try:
            done = subprocess.run(argv, input=stdin, capture_output=True, text=True,
                                  timeout=TIMEOUT, env=env,
                                  stdin=subprocess.DEVNULL if stdin is None else None)
        except FileNotFoundError:
            raise ProgramNotFound(self.program, "install WezTerm, or use backend: tmux") \
                from None
        except subprocess.TimeoutExpired:
            raise BackendError(self.program, argv, -1,
                               f"no answer within {TIMEOUT:.0f}s from the WezTerm mux") from None
        if done.returncode != 0:
            raise BackendError(self.program, argv, done.returncode, done.stderr)
        return done.stdout
