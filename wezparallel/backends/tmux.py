"""Processes in tmux panes: one session per workspace (`wezparallel-WORKSPACE`), one pane each.

The pane's program is the wrapper running the process (never keys typed into a shell), so a
slow shell cannot eat them. `remain-on-exit` keeps a dead pane and its last screen visible, and
a restart respawns the program in the same pane (`respawn-pane -k`): same pane id, same place,
the person watching does not lose it. Each pane carries its process id in the pane option
`@wezparallel_id`, so a restarted daemon finds its dead panes again too.

Output for `logs`: `pipe-pane` copies everything the pane shows to the process's log file, set in
the same tmux invocation that creates the pane so no early output is missed. The alternative, a
wrapper that tees, would have to sit between the program and its terminal with a pty of its own
(losing the program's direct view of the terminal) to see anything; tmux already has the bytes.
While the pane exists, `read_output` prefers `capture-pane`, which gives the rendered screen
(full-screen programs such as Claude Code are unreadable as a raw byte log).
"""

from __future__ import annotations

import contextlib
import logging
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from wezparallel.backends import layouts
from wezparallel.backends.base import ExitCallback, Handle
from wezparallel.backends.logfile import create_log
from wezparallel.backends.paste import bracketed
from wezparallel.backends.tmux_cmd import SEP, TmuxServer, is_no_server
from wezparallel.backends.wrapper import (
    WrappedProcesses,
    check_startable,
    create_time,
    pane_command,
    same_process,
    strip_blank_tail,
    tail_lines,
)
from wezparallel.errors import BackendError, PermanentError
from wezparallel.spec.model import Layout, ProcessSpec

log = logging.getLogger(__name__)

SESSION_PREFIX = "wezparallel-"
OWNER_OPTION = "@wezparallel_id"
WINDOW_SIZE = ("-x", "200", "-y", "50")  # a detached session's size until a client attaches
_NEW_PANE = "#{pane_id} #{pane_pid}"
_ROW = "\t".join(["#{pane_id}", "#{pane_pid}", "#{pane_dead}", "#{session_name}",
                  "#{window_id}", "#{pane_left}", "#{pane_top}", "#{pane_width}",
                  "#{pane_height}", "#{" + OWNER_OPTION + "}"])


def session_name(workspace: str) -> str:
    """tmux reads `.` and `:` in a target as separators, so they cannot be in a name."""
    return SESSION_PREFIX + re.sub(r"[.:]", "_", workspace)


@dataclass(frozen=True)
class PaneRow:
    """One line of `list-panes -a`."""

    pane: str
    pid: int
    dead: bool
    session: str
    window: str
    box: layouts.PaneBox
    owner: str  # the process id in @wezparallel_id, "" for panes not ours

    @classmethod
    def parse(cls, line: str) -> PaneRow:
        f = line.split("\t")
        return cls(pane=f[0], pid=int(f[1] or 0), dead=f[2] == "1", session=f[3], window=f[4],
                   box=layouts.PaneBox(f[0], int(f[5]), int(f[6]), int(f[7]), int(f[8])),
                   owner=f[9])


class TmuxBackend:
    """The `Backend` protocol on tmux, plus the pane verbs (send, capture, attach, layout)."""

    name = "tmux"

    def __init__(self, on_exit: ExitCallback, *, socket_path: Path | None, state_dir: Path,
                 program: str = "tmux") -> None:
        """`socket_path` None drives the user's own tmux server instead of the daemon's."""
        self.server = TmuxServer(socket_path, program)
        self._procs = WrappedProcesses(on_exit, state_dir)
        self._pane_of: dict[str, str] = {}  # process id -> pane id
        self._last: dict[str, str] = {}  # workspace -> pane made most recently
        self._hinted: set[str] = set()  # workspaces with hand-sized panes
        self._layout: dict[str, Layout] = {}  # workspace -> layout set by `layout`

    # --- observing ---------------------------------------------------------------------------

    def list_panes(self) -> list[PaneRow]:
        try:
            out = self.server.run("list-panes", "-a", "-F", _ROW)
        except BackendError as exc:
            if is_no_server(exc):
                return []
            raise
        return [PaneRow.parse(line) for line in out.splitlines() if line]

    def workspace_panes(self, workspace: str) -> list[PaneRow]:
        name = session_name(workspace)
        return [r for r in self.list_panes() if r.session == name]

    def _pane_row(self, pane: str | None) -> PaneRow | None:
        return next((r for r in self.list_panes() if r.pane == pane), None) if pane else None

    # --- Backend protocol --------------------------------------------------------------------

    async def spawn(self, spec: ProcessSpec, argv: tuple[str, ...], log_path: Path) -> Handle:
        check_startable(spec.id, spec.cwd, argv, spec.env)
        status = self._procs.prepare(spec.id)
        command = pane_command(status, argv, spec.env)
        rows = self.list_panes()
        old = self._find_pane(spec.id, rows)
        if old is not None:
            pane, pid = old, self._respawn(old, spec.cwd, command)
        else:
            create_log(log_path)
            pane, pid = self._create(spec, command, rows, log_path)
        self._pane_of[spec.id] = pane
        handle = Handle(id=spec.id, pid=pid, backend=self.name, create_time=create_time(pid),
                        pane=pane)
        self._procs.watch(handle)
        return handle

    def signal(self, handle: Handle, signum: int) -> None:
        self._procs.signal(handle, signum)

    async def stop(self, handle: Handle, signum: int, timeout: float) -> None:
        await self._procs.stop(handle, signum, timeout)

    def adopt(self, handle: Handle) -> bool:
        row = self._pane_row(handle.pane)
        if row is None or row.dead or row.pid != handle.pid \
                or not same_process(handle.pid, handle.create_time):
            return False
        self._pane_of[handle.id] = row.pane
        self._procs.watch(handle)
        return True

    def read_output(self, handle: Handle | None, log_path: Path, lines: int) -> list[str]:
        pane = handle.pane if handle is not None else None
        if pane is not None:
            with contextlib.suppress(BackendError):
                return self.capture_pane(pane, lines).splitlines()
        return tail_lines(log_path, lines)

    async def close(self, *, leave_running: bool = False) -> None:
        self._procs.close()
        if leave_running:
            return
        rows = self.list_panes()
        if self.server.socket_path is not None:
            if rows and not any(not r.dead for r in rows):
                self.server.run("kill-server", check=False)
            return
        for session in {r.session for r in rows if r.session.startswith(SESSION_PREFIX)}:
            if all(r.dead for r in rows if r.session == session):
                self.server.run("kill-session", "-t", f"={session}", check=False)

    # --- pane verbs --------------------------------------------------------------------------

    def paste(self, handles: Iterable[Handle], text: str, bracket: bool) -> None:
        """Type `text` into every pane as one paste, Enter not included (see `press_enter`).

        `bracket`: wrapped in paste markers by us, newlines kept (an agent's prompt); else
        pasted the way tmux pastes for a person (`-p`: bracketed only when the program asked,
        newlines sent as CR). The text reaches tmux on stdin, never through its parser."""
        targets = [_pane(h) for h in handles]
        if not text or not targets:
            return  # tmux makes no buffer of ""
        how = ["-r"] if bracket else ["-p"]
        args: list[str] = ["load-buffer", "-b", _SEND_BUFFER, "-"]
        for pane in targets:
            args += [SEP, "paste-buffer", *how, "-b", _SEND_BUFFER, "-t", pane]
        args += [SEP, "delete-buffer", "-b", _SEND_BUFFER]
        self.server.run(*args, stdin=bracketed(text) if bracket else text)

    def press_enter(self, handles: Iterable[Handle]) -> None:
        """Enter on its own: sent apart from any text, so no input box takes it for part of
        a paste."""
        keys = [a for h in handles for a in (SEP, "send-keys", "-t", _pane(h), "Enter")]
        if keys:
            self.server.run(*keys[1:])

    def capture(self, handle: Handle, lines: int) -> str:
        return self.capture_pane(_pane(handle), lines)

    def capture_pane(self, pane: str, lines: int) -> str:
        """The last `lines` lines of the pane's screen and scrollback, as rendered."""
        out = self.server.run("capture-pane", "-p", "-J", "-t", pane, "-S", f"-{lines}")
        text = strip_blank_tail(out.splitlines())
        dead = text[-1:] if text and text[-1].startswith(_DEAD_MARK) else []
        text = strip_blank_tail(text[:len(text) - len(dead)]) + dead
        return "\n".join(text[-lines:] if lines > 0 else [])

    def attach(self, handle: Handle, environ: Mapping[str, str]) -> list[str]:
        """The argv that shows the process's pane in the caller's terminal: `switch-client`
        when the caller is already a client of this server, else `attach` (with `$TMUX`
        unset, since a client of another server counts as nested)."""
        pane = _pane(handle)
        session = session_name(handle.id.partition(":")[0])
        select = ["select-window", "-t", pane, SEP, "select-pane", "-t", pane, SEP]
        sock = str(self.server.socket_path) if self.server.socket_path else None
        inside = environ.get("TMUX", "").split(",")[0]
        if inside and (sock is None or inside == sock):
            return self.server.argv(*select, "switch-client", "-t", pane)
        return ["env", "-u", "TMUX", *self.server.argv(*select, "attach-session", "-t",
                                                       f"={session}")]

    def apply_layout(self, workspace: str, layout: Layout) -> None:
        """Re-arrange a running workspace now, and place its later panes the same way."""
        rows = self.workspace_panes(workspace)
        if not rows:
            raise PermanentError(f"workspace {workspace!r} has no tmux panes")
        self._layout[workspace] = layout
        self._hinted.discard(workspace)
        self.server.run("select-layout", "-t", rows[0].window, layouts.TMUX_PRESETS[layout])

    def discard(self, handle: Handle) -> None:
        """Close the pane of a process that left the config (a dead pane otherwise stays)."""
        self._procs.unwatch(handle.id)
        self._pane_of.pop(handle.id, None)
        if handle.pane is not None:
            self.server.run("kill-pane", "-t", handle.pane, check=False)

    def child_pid(self, handle: Handle) -> int | None:
        """The program's own pid (the handle's pid is its wrapper's)."""
        return self._procs.child_pid(handle)

    # --- effects behind spawn ----------------------------------------------------------------

    def _find_pane(self, process_id: str, rows: list[PaneRow]) -> str | None:
        known = self._pane_of.get(process_id)
        for r in rows:
            if r.pane == known or (known is None and r.owner == process_id):
                return r.pane
        return None

    def _respawn(self, pane: str, cwd: str, command: list[str]) -> int:
        out = self.server.run("respawn-pane", "-k", "-t", pane, "-c", cwd, *command,
                              SEP, "display-message", "-p", "-t", pane, "#{pane_pid}")
        return int(out.split()[0])

    def _create(self, spec: ProcessSpec, command: list[str], rows: list[PaneRow],
                log_path: Path) -> tuple[str, int]:
        """One tmux call: the pane, its log pipe and owner tag (on the new pane, which is the
        current one right after it is made), focus given back, and the layout preset."""
        ws = spec.workspace
        mine = [r for r in rows if r.session == session_name(ws)]
        tail = ["pipe-pane", "-o", f"cat >> {shlex.quote(str(log_path))}",
                SEP, "set-option", "-p", OWNER_OPTION, spec.id]
        if not mine:
            args = ["new-session", "-d", "-s", session_name(ws), *WINDOW_SIZE, "-c", spec.cwd,
                    "-P", "-F", _NEW_PANE, *command,
                    SEP, "set-option", "-w", "remain-on-exit", "on", SEP, *tail]
        else:
            split, preset = self._split_args(spec, mine, command)
            args = [*split, SEP, *tail, SEP, "last-pane"]
            if preset is not None:
                args += [SEP, "select-layout", "-t", mine[0].window, preset]
        pane, pid = self.server.run(*args).split()[:2]
        self._last[ws] = pane
        return pane, int(pid)

    def _split_args(self, spec: ProcessSpec, mine: list[PaneRow],
                    command: list[str]) -> tuple[list[str], str | None]:
        ws = spec.workspace
        previous = self._last.get(ws)
        if previous not in {r.pane for r in mine}:
            previous = mine[-1].pane
        layout = self._layout.get(ws, spec.layout)
        placement = layouts.tmux_placement(layout, spec.pane, previous, ws in self._hinted)
        if layouts.hinted(spec.pane):
            self._hinted.add(ws)
        target = placement.target or previous
        return ["split-window", "-P", "-F", _NEW_PANE, "-t", target, "-c", spec.cwd,
                *layouts.tmux_split_args(placement), *command], placement.preset


_SEND_BUFFER = "wezparallel-send"
_DEAD_MARK = "Pane is dead ("  # tmux's remain-on-exit line at the bottom of a dead pane


def _pane(handle: Handle) -> str:
    if handle.pane is None:
        raise PermanentError(f"{handle.id} does not run in a terminal pane")
    return handle.pane
