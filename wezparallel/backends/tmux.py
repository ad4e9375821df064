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

Nothing a user wrote reaches tmux's parsers: the pane's command is the wrapper and a launch
file (argv, env and cwd travel in the file, see `wrapper.write_launch`), `tmux_cmd` escapes what
goes on the command line, and the one format that holds a path (`pipe-pane`'s command) is
quoted for it. Every call is asynchronous with a timeout (`tmux_cmd`); placing a pane (list,
then create or respawn) holds a lock, so starts that now run side by side cannot both create
the workspace's session.

Where a new pane goes, and how the workspace window is laid out again when panes come and go
(the pane of a process stopped for good is parked in a `stopped` window): `tmux_windows`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import psutil

from wezparallel.backends import layouts
from wezparallel.backends.base import ExitCallback, Handle
from wezparallel.backends.logfile import create_log
from wezparallel.backends.paste import bracketed
from wezparallel.backends.tmux_cmd import (
    SEP,
    TIMEOUT,
    TmuxServer,
    append_command,
    format_literal,
    is_no_server,
)
from wezparallel.backends.tmux_windows import (
    NEW_PANE,
    OWNER_OPTION,
    ROW,
    SESSION_PREFIX,
    PaneRow,
    Windows,
    park_args,
    session_name,
)
from wezparallel.backends.wrapper import (
    WrappedProcesses,
    check_startable,
    create_time,
    same_process,
    strip_blank_tail,
    tail_lines,
    withdraw_launch,
    wrapper_command,
    write_launch,
)
from wezparallel.errors import BackendError, PermanentError
from wezparallel.spec.model import Layout, ProcessSpec

log = logging.getLogger(__name__)

WINDOW_SIZE = ("-x", "200", "-y", "50")  # a detached session's size until a client attaches


class TmuxBackend:
    """The `Backend` protocol on tmux, plus the pane verbs (send, capture, attach, layout)."""

    name = "tmux"

    def __init__(self, on_exit: ExitCallback, *, socket_path: Path | None, state_dir: Path,
                 program: str = "tmux", timeout: float = TIMEOUT) -> None:
        """`socket_path` None drives the user's own tmux server instead of the daemon's."""
        self.server = TmuxServer(socket_path, program, timeout)
        self._procs = WrappedProcesses(on_exit, state_dir)
        self._pane_of: dict[str, str] = {}  # process id -> pane id
        self._windows = Windows(self.server)
        self._starting: set[str] = set()  # process ids whose spawn is under way
        self._placing = asyncio.Lock()

    # --- observing ---------------------------------------------------------------------------

    async def list_panes(self) -> list[PaneRow]:
        try:
            out = await self.server.run("list-panes", "-a", "-F", ROW)
        except BackendError as exc:
            if is_no_server(exc):
                return []
            raise
        return [PaneRow.parse(line) for line in out.splitlines() if line]

    async def workspace_panes(self, workspace: str) -> list[PaneRow]:
        name = session_name(workspace)
        return [r for r in await self.list_panes() if r.session == name]

    # --- Backend protocol --------------------------------------------------------------------

    async def spawn(self, spec: ProcessSpec, argv: tuple[str, ...], log_path: Path) -> Handle:
        check_startable(spec.id, spec.cwd, argv, spec.env)
        status = self._procs.prepare(spec.id)
        launch = write_launch(status, argv, spec.env, spec.cwd)
        self._starting.add(spec.id)
        try:
            async with self._placing:
                pane, pid = await self._place(spec, wrapper_command(launch), log_path)
                handle = Handle(id=spec.id, pid=pid, backend=self.name,
                                create_time=create_time(pid), pane=pane)
                self._procs.watch(handle)
        except BaseException:
            withdraw_launch(launch)  # a pane the server makes late must not run it
            raise
        finally:
            self._starting.discard(spec.id)
        return handle

    def signal(self, handle: Handle, signum: int) -> None:
        self._procs.signal(handle, signum)

    async def stop(self, handle: Handle, signum: int, timeout: float) -> None:
        await self._procs.stop(handle, signum, timeout)

    def adopt(self, handle: Handle) -> bool:
        """Without asking tmux (which may be the thing that hangs): the wrapper is alive, is the
        process we started (start time), and sits in the handle's pane of our server (tmux
        gives each pane's program `$TMUX_PANE` and `$TMUX`)."""
        if handle.pane is None or not same_process(handle.pid, handle.create_time):
            return False
        try:
            env = psutil.Process(handle.pid).environ()
        except psutil.Error:
            return False
        if env.get("TMUX_PANE") != handle.pane or not self._our_server(env.get("TMUX", "")):
            return False
        self._pane_of[handle.id] = handle.pane
        self._procs.watch(handle)
        return True

    def _our_server(self, tmux_env: str) -> bool:
        if self.server.socket_path is None:
            return bool(tmux_env)
        sock = tmux_env.split(",")[0]
        return bool(sock) and os.path.realpath(sock) == os.path.realpath(self.server.socket_path)

    async def read_output(self, handle: Handle | None, log_path: Path, lines: int) -> list[str]:
        pane = handle.pane if handle is not None else None
        if pane is not None:
            with contextlib.suppress(BackendError):
                return (await self.capture_pane(pane, lines)).splitlines()
        return tail_lines(log_path, lines)

    async def close(self, *, leave_running: bool = False) -> None:
        self._procs.close()
        if leave_running:
            return
        rows = await self.list_panes()
        if self.server.socket_path is not None:
            if rows and not any(not r.dead for r in rows):
                await self.server.run("kill-server", check=False)
            return
        for session in {r.session for r in rows if r.session.startswith(SESSION_PREFIX)}:
            if all(r.dead for r in rows if r.session == session):
                await self.server.run("kill-session", "-t", f"={session}", check=False)

    # --- pane verbs --------------------------------------------------------------------------

    async def paste(self, handles: Iterable[Handle], text: str, bracket: bool) -> None:
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
        await self.server.run(*args, stdin=bracketed(text) if bracket else text)

    async def press_enter(self, handles: Iterable[Handle]) -> None:
        """Enter on its own: sent apart from any text, so no input box takes it for part of
        a paste."""
        keys = [a for h in handles for a in (SEP, "send-keys", "-t", _pane(h), "Enter")]
        if keys:
            await self.server.run(*keys[1:])

    async def capture(self, handle: Handle, lines: int) -> str:
        return await self.capture_pane(_pane(handle), lines)

    async def capture_pane(self, pane: str, lines: int) -> str:
        """The last `lines` lines of the pane's screen and scrollback, as rendered."""
        out = await self.server.run("capture-pane", "-p", "-J", "-t", pane, "-S", f"-{lines}")
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

    async def apply_layout(self, workspace: str, layout: Layout) -> None:
        """Re-arrange a running workspace now, and place its later panes the same way."""
        async with self._placing:
            rows = [r for r in await self.workspace_panes(workspace) if not r.parked]
            if not rows:
                raise PermanentError(f"workspace {workspace!r} has no tmux panes")
            self._windows.layout[workspace] = layout
            self._windows.hinted.discard(workspace)
            await self._windows.arrange(workspace, rows)

    async def discard(self, handle: Handle) -> None:
        """Close the pane of a process that left the config (a dead pane otherwise stays)."""
        self._procs.unwatch(handle.id)
        await self.retire(handle.id, gone=True)

    async def retire(self, process_id: str, *, gone: bool) -> None:
        """The process will not come back by itself: its pane leaves the workspace window,
        parked in the `stopped` window (or closed, when the process left the config), and the
        window is laid out again for the panes still running."""
        async with self._placing:
            if self._procs.watching(process_id) or process_id in self._starting:
                return  # started again meanwhile: that pane is (about to be) in use
            pane = self._pane_of.get(process_id)
            rows = await self.list_panes()
            row = next((r for r in rows if r.pane == pane), None)
            if row is None or (row.parked and not gone):
                return
            if gone:
                self._pane_of.pop(process_id, None)
                await self.server.run("kill-pane", "-t", row.pane, check=False)
            else:
                await self.server.run(*park_args(row, rows), check=False)
            workspace = process_id.partition(":")[0]
            left = [r for r in await self.workspace_panes(workspace) if not r.parked]
            if left:
                await self._windows.arrange(workspace, left)

    def child_pid(self, handle: Handle) -> int | None:
        """The program's own pid (the handle's pid is its wrapper's)."""
        return self._procs.child_pid(handle)

    # --- effects behind spawn ----------------------------------------------------------------

    async def _place(self, spec: ProcessSpec, command: list[str],
                     log_path: Path) -> tuple[str, int]:
        self._windows.specs[spec.id] = spec
        rows = await self.list_panes()
        old = self._find_pane(spec.id, rows)
        if old is not None and old.parked:  # back from the `stopped` window: a fresh pane
            await self.server.run("kill-pane", "-t", old.pane, check=False)
            rows = [r for r in rows if r.pane != old.pane]
            old = None
        if old is not None:
            pane, pid = old.pane, await self._respawn(old.pane, command)
        else:
            create_log(log_path)
            pane, pid = await self._create(spec, command, rows, log_path)
            if self._windows.layout_of(spec.workspace) in layouts.MAIN_LAYOUTS:
                mine = await self.workspace_panes(spec.workspace)
                await self._windows.arrange(spec.workspace, [r for r in mine if not r.parked])
        self._pane_of[spec.id] = pane
        return pane, pid

    def _find_pane(self, process_id: str, rows: list[PaneRow]) -> PaneRow | None:
        known = self._pane_of.get(process_id)
        for r in rows:
            if r.pane == known or (known is None and r.owner == process_id):
                return r
        return None

    async def _respawn(self, pane: str, command: list[str]) -> int:
        out = await self.server.run("respawn-pane", "-k", "-t", pane, *command,
                                    SEP, "display-message", "-p", "-t", pane, "#{pane_pid}")
        return int(out.split()[0])

    async def _create(self, spec: ProcessSpec, command: list[str], rows: list[PaneRow],
                      log_path: Path) -> tuple[str, int]:
        """One tmux call: the pane, its log pipe and owner tag (on the new pane, which is the
        current one right after it is made), focus given back, and the layout preset."""
        ws = spec.workspace
        session = session_name(ws)
        mine = [r for r in rows if r.session == session and not r.parked]
        tail = ["pipe-pane", "-o", append_command(log_path),
                SEP, "set-option", "-p", OWNER_OPTION, spec.id]
        if mine:
            split, preset = self._windows.split_args(spec, mine, command)
            args = [*split, SEP, *tail, SEP, "last-pane"]
            if preset is not None:
                args += [SEP, "select-layout", "-t", mine[0].window, preset]
        elif any(r.session == session for r in rows):  # only parked panes are left
            args = ["new-window", "-t", f"={session}:", "-n", format_literal(ws), "-P", "-F",
                    NEW_PANE, *command, SEP, *tail]
        else:
            args = ["new-session", "-d", "-s", format_literal(session), "-n",
                    format_literal(ws), *WINDOW_SIZE, "-P", "-F", NEW_PANE, *command,
                    SEP, "set-option", "-w", "remain-on-exit", "on", SEP, *tail]
        pane, pid = (await self.server.run(*args)).split()[:2]
        self._windows.last[ws] = pane
        return pane, int(pid)


_SEND_BUFFER = "wezparallel-send"
_DEAD_MARK = "Pane is dead ("  # tmux's remain-on-exit line at the bottom of a dead pane


def _pane(handle: Handle) -> str:
    if handle.pane is None:
        raise PermanentError(f"{handle.id} does not run in a terminal pane")
    return handle.pane
