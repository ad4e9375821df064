"""Processes in WezTerm panes, driven through `wezterm cli`.

A workspace's first process opens a window in a WezTerm workspace of the same name (`spawn
--new-window --workspace`), titled after it; the others split its panes as `layouts` decides.
`wezterm cli` reports no pid and no exit status, and with `exit_behavior = "Close"` the pane is
gone the moment its program ends, so every pane runs the program under `panewrap.py`: its
status file carries the wrapper's pid (known a few ms after the spawn) and the exit, written
before the pane can close. A restarted daemon matches panes back by pane id *and* the wrapper's
pid and start time, plus the pane's tty where `list` names it.

A process with `pane: {domain: ...}` opens a tab in that mux domain (WezTerm's own SSH
multiplexing): the program runs on the other machine, where neither the wrapper nor its status
file exist, so such a process has no pid here (0), is stopped by closing its pane, and its end
(exit status unknown) is noticed by looking at `list` every `REMOTE_POLL` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal as signals
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import psutil

from wezparallel.backends import layouts
from wezparallel.backends.base import ExitCallback, Handle
from wezparallel.backends.paste import bracketed
from wezparallel.backends.wezterm_cmd import WezTermCli
from wezparallel.backends.wezterm_gui import WezTermNotRunning, gui_pid
from wezparallel.backends.wrapper import (
    WrappedProcesses,
    check_startable,
    create_time,
    pane_command,
    read_status,
    same_process,
    strip_blank_tail,
    tail_lines,
)
from wezparallel.errors import BackendError, PermanentError, SpawnError
from wezparallel.plan.lifecycle import ExitInfo
from wezparallel.spec.model import Layout, ProcessSpec

log = logging.getLogger(__name__)

WRAPPER_START = 10.0  # seconds a pane's wrapper may take to write its first record
REMOTE_POLL = 2.0  # seconds between looks at `list` while remote panes run


@dataclass(frozen=True)
class WezPane:
    """The fields of one `wezterm cli list --format json` entry that we use."""

    pane_id: str
    window_id: str
    tab_id: str
    workspace: str
    box: layouts.PaneBox
    tty_name: str | None

    @classmethod
    def parse(cls, d: Mapping[str, object]) -> WezPane:
        size = d["size"]
        assert isinstance(size, dict)
        pane = str(d["pane_id"])
        tty = d.get("tty_name")
        return cls(pane, str(d["window_id"]), str(d["tab_id"]), str(d["workspace"]),
                   layouts.PaneBox(pane, int(d["left_col"]),  # type: ignore[call-overload]
                                   int(d["top_row"]),  # type: ignore[call-overload]
                                   int(size["cols"]), int(size["rows"])),
                   str(tty) if tty else None)


class WezTermBackend:
    """The `Backend` protocol on `wezterm cli`, plus the pane verbs."""

    name = "wezterm"

    def __init__(self, on_exit: ExitCallback, *, state_dir: Path,
                 wezterm: str = "wezterm") -> None:
        self.cli = WezTermCli(wezterm)
        self._on_exit = on_exit
        self._procs = WrappedProcesses(on_exit, state_dir)
        self._pane_of: dict[str, str] = {}  # process id -> pane id, in creation order
        self._remote: dict[str, Handle] = {}  # process id -> handle of a remote-domain pane
        self._poller: asyncio.Task[None] | None = None
        self._layout: dict[str, Layout] = {}

    # --- observing ---------------------------------------------------------------------------

    def list_panes(self) -> list[WezPane]:
        out = self.cli.run("list", "--format", "json")
        try:
            return [WezPane.parse(d) for d in json.loads(out)]
        except (ValueError, KeyError, TypeError, AssertionError) as exc:
            raise BackendError(self.cli.program, ("cli", "list", "--format", "json"), 0,
                               f"unexpected `list` output ({exc})") from None

    # --- Backend protocol --------------------------------------------------------------------

    async def spawn(self, spec: ProcessSpec, argv: tuple[str, ...], log_path: Path) -> Handle:
        if spec.pane.domain is not None:
            return self._spawn_remote(spec, argv)
        check_startable(spec.id, spec.cwd, argv, spec.env)
        status = self._procs.prepare(spec.id)
        pane = self._open_pane(spec, pane_command(status, argv, spec.env))
        wrapper = await _wait_for_wrapper(status, spec.id)
        handle = Handle(id=spec.id, pid=wrapper, backend=self.name,
                        create_time=create_time(wrapper), pane=pane)
        self._procs.watch(handle)
        return handle

    def signal(self, handle: Handle, signum: int) -> None:
        if handle.id in self._remote:
            if signum in (signals.SIGTERM, signals.SIGKILL, signals.SIGHUP, signals.SIGINT):
                self._close_remote(handle)
            return
        self._procs.signal(handle, signum)

    async def stop(self, handle: Handle, signum: int, timeout: float) -> None:
        if handle.id in self._remote:
            self._close_remote(handle)
            return
        await self._procs.stop(handle, signum, timeout)

    def adopt(self, handle: Handle) -> bool:
        try:
            panes = self.list_panes()
        except WezTermNotRunning as exc:  # the GUI is gone, and its panes with it
            log.warning("%s: cannot be adopted: %s", handle.id, exc)
            return False
        pane = next((p for p in panes if p.pane_id == handle.pane), None)
        if pane is None or not same_process(handle.pid, handle.create_time) \
                or not _same_tty(handle.pid, pane.tty_name):
            return False
        self._pane_of[handle.id] = pane.pane_id
        self._procs.watch(handle)
        return True

    def read_output(self, handle: Handle | None, log_path: Path, lines: int) -> list[str]:
        if handle is not None and handle.pane is not None:
            with contextlib.suppress(BackendError):
                return self.capture(handle, lines).splitlines()
        return tail_lines(log_path, lines)

    async def close(self, *, leave_running: bool = False) -> None:
        self._procs.close()
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        if leave_running:
            return
        live = {p.pane_id for p in self._safe_list()}
        for process_id, pane in list(self._pane_of.items()):
            ended = process_id not in self._remote and not self._procs.watching(process_id)
            if pane in live and ended:  # a held (exit_behavior Hold) dead pane
                with contextlib.suppress(BackendError):
                    self.cli.run("kill-pane", "--pane-id", pane)

    # --- pane verbs --------------------------------------------------------------------------

    def paste(self, handles: Iterable[Handle], text: str, bracket: bool) -> None:
        """Type `text` into every pane as one paste, Enter not included (see `press_enter`).

        `bracket`: wrapped in paste markers by us and written as is (`--no-paste`), so it is
        one paste even before the program turned bracketed paste on (an agent's prompt).
        Else WezTerm's own paste, which brackets only when the program asked and otherwise
        sends each newline as CR (term/src/terminalstate/mod.rs `send_paste`)."""
        if not text:
            return
        for h in handles:
            if bracket:
                self.cli.run("send-text", "--pane-id", _pane(h), "--no-paste",
                             stdin=bracketed(text))
            else:
                self.cli.run("send-text", "--pane-id", _pane(h), stdin=text)

    def press_enter(self, handles: Iterable[Handle]) -> None:
        """A bare CR, never pasted: Enter on its own."""
        for h in handles:
            self.cli.run("send-text", "--pane-id", _pane(h), "--no-paste", "\r")

    def capture(self, handle: Handle, lines: int) -> str:
        out = self.cli.run("get-text", "--pane-id", _pane(handle), "--start-line", f"-{lines}")
        text = strip_blank_tail(out.splitlines())
        return "\n".join(text[-lines:] if lines > 0 else [])

    def attach(self, handle: Handle, environ: Mapping[str, str]) -> list[str] | None:
        """WezTerm shows the pane itself: activate it; nothing for the caller to run. That
        makes it the active pane of its tab and window only: whether the GUI shows its
        workspace is `showing`'s to say (the caller asks the Lua module to switch)."""
        self.cli.run("activate-pane", "--pane-id", _pane(handle))
        return None

    def showing(self, handle: Handle) -> tuple[str, str | None]:
        """The workspace of the process's pane, and the one the GUI shows (None when no GUI
        client says): `list-clients` names each client's active workspace, and the GUI is
        the client whose pid its gui-sock-PID carries."""
        pane = _pane(handle)
        workspace = next((p.workspace for p in self.list_panes() if p.pane_id == pane), None)
        if workspace is None:
            raise PermanentError(f"{handle.id}: its pane {pane} is gone")
        gui = gui_pid(self.cli.socket())
        try:
            clients = [c for c in json.loads(self.cli.run("list-clients", "--format", "json"))
                       if isinstance(c, dict) and c.get("workspace")]
        except ValueError:
            return workspace, None
        shown = next((c for c in clients if c.get("pid") == gui), None) \
            or next(iter(clients), None)
        return workspace, str(shown["workspace"]) if shown is not None else None

    def apply_layout(self, workspace: str, layout: Layout) -> None:
        """`wezterm cli` cannot move existing panes; the layout applies to panes made from now
        on (restarts included), and the caller learns that it did not re-arrange anything."""
        self._layout[workspace] = layout
        raise PermanentError(
            f"WezTerm cannot re-arrange the panes of {workspace!r} in place (`wezterm cli` has "
            f"no such verb); panes started from now on follow {layout.value}")

    def discard(self, handle: Handle) -> None:
        self._procs.unwatch(handle.id)
        self._remote.pop(handle.id, None)
        if self._pane_of.pop(handle.id, None) is not None and handle.pane is not None:
            with contextlib.suppress(BackendError):
                self.cli.run("kill-pane", "--pane-id", handle.pane)

    def child_pid(self, handle: Handle) -> int | None:
        return self._procs.child_pid(handle)

    # --- effects behind spawn ----------------------------------------------------------------

    def _open_pane(self, spec: ProcessSpec, command: list[str]) -> str:
        """A new pane for `spec`: a window for the workspace's first, else a split. A dead pane
        of the same process kept by `exit_behavior = "Hold"` is split, then closed, so the new
        one takes its place."""
        panes = {p.pane_id: p for p in self._safe_list()}
        old = self._pane_of.pop(spec.id, None)
        old = old if old in panes else None
        # creation order, not `list` order: `list` walks the split tree, where a pane split off
        # to the left or top comes before the one it was split from
        ours = [panes[p] for p in self._panes_of(spec.workspace) if p in panes]
        if old is not None:
            pane = self._split(spec, panes[old], ["--right", "--percent", "50"], command)
            self.cli.run("kill-pane", "--pane-id", old)
        elif not ours:
            pane = self.cli.run("spawn", "--new-window", "--workspace", spec.workspace,
                                "--cwd", spec.cwd, "--", *command).strip()
            try:  # cosmetic, and a program that exits at once takes its pane (and tab) along
                self.cli.run("set-tab-title", "--pane-id", pane, spec.workspace)
            except BackendError as exc:
                log.debug("%s: no tab title: %s", spec.id, exc)
        else:
            layout = self._layout.get(spec.workspace, spec.layout)
            previous = ours[-1].pane_id
            place = layouts.wezterm_placement(layout, spec.pane, [p.box for p in ours], previous)
            target = panes.get(place.target or "", ours[0])
            pane = self._split(spec, target, layouts.wezterm_split_args(place), command)
        self._pane_of[spec.id] = pane
        return pane

    def _split(self, spec: ProcessSpec, target: WezPane, flags: list[str],
               command: list[str]) -> str:
        try:
            return self.cli.run("split-pane", "--pane-id", target.pane_id, *flags,
                                "--cwd", spec.cwd, "--", *command).strip()
        except BackendError as exc:
            if "No space for split" not in exc.stderr:
                raise
            box = target.box
            raise SpawnError(
                f"{spec.id}: WezTerm refused to split pane {target.pane_id} ({box.width}x"
                f"{box.height} cells) with {' '.join(flags)}: \"No space for split!\". A new "
                "window is initial_cols x initial_rows (80x24 unless wezterm.lua says "
                "otherwise) and stays so while its workspace is not shown: use fewer panes, "
                "smaller pane sizes, or bigger initial_cols/initial_rows") from None

    def _panes_of(self, workspace: str) -> list[str]:
        return [pane for pid, pane in self._pane_of.items()
                if pid.partition(":")[0] == workspace]

    def _safe_list(self) -> list[WezPane]:
        try:
            return self.list_panes()
        except PermanentError:
            raise
        except BackendError as exc:
            log.warning("wezterm: cannot list panes: %s", exc)
            return []

    # --- remote domains ----------------------------------------------------------------------

    def _spawn_remote(self, spec: ProcessSpec, argv: tuple[str, ...]) -> Handle:
        env = [f"{k}={v}" for k, v in spec.env]
        window = next((p.window_id for p in self._safe_list()
                       if p.pane_id in self._panes_of(spec.workspace)), None)
        where = ["--window-id", window] if window is not None \
            else ["--new-window", "--workspace", spec.workspace]
        pane = self.cli.run("spawn", "--domain-name", spec.pane.domain or "", *where,
                            "--cwd", spec.cwd, "--", *(["env", *env] if env else []),
                            *argv).strip()
        self._pane_of[spec.id] = pane
        handle = Handle(id=spec.id, pid=0, backend=self.name, create_time=None, pane=pane)
        self._remote[spec.id] = handle
        if self._poller is None or self._poller.done():
            self._poller = asyncio.get_running_loop().create_task(self._poll_remote())
        return handle

    def _close_remote(self, handle: Handle) -> None:
        with contextlib.suppress(BackendError):
            self.cli.run("kill-pane", "--pane-id", _pane(handle))
        self._remote_ended({handle.id})

    def _remote_ended(self, ids: set[str]) -> None:
        for process_id in ids:
            handle = self._remote.pop(process_id, None)
            if handle is not None:
                self._on_exit(handle, ExitInfo(known=False))

    async def _poll_remote(self) -> None:
        while self._remote:
            await asyncio.sleep(REMOTE_POLL)
            live = {p.pane_id for p in self._safe_list()}
            self._remote_ended({i for i, h in self._remote.items() if h.pane not in live})


async def _wait_for_wrapper(status: Path, process_id: str) -> int:
    """The wrapper's pid from its first record: `wezterm cli` does not tell it."""
    deadline = time.monotonic() + WRAPPER_START
    while time.monotonic() < deadline:
        record = read_status(status)
        if record is not None:
            return record.wrapper
        await asyncio.sleep(0.005)
    raise SpawnError(f"{process_id}: its pane did not start the wrapper within "
                     f"{WRAPPER_START:.0f}s (is the mux server on this machine?)")


def _same_tty(pid: int, tty_name: str | None) -> bool:
    """Where `list` names the pane's tty, the adopted wrapper must be running on it."""
    if tty_name is None:
        return True
    try:
        return psutil.Process(pid).terminal() in (None, tty_name)
    except psutil.Error:
        return False


def _pane(handle: Handle) -> str:
    if handle.pane is None:
        raise PermanentError(f"{handle.id} does not run in a terminal pane")
    return handle.pane
