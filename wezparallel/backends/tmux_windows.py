"""Where a tmux pane goes and how a workspace's window is laid out, for `TmuxBackend`.

The rows tmux lists (`PaneRow`), the arguments that place a new pane (`layouts` decides, this
turns it into tmux), and `arrange`: the window laid out again when panes come and go, agents
first in `main-*` layouts with the main pane's `size`. Panes of processes stopped for good
are parked in the session's `stopped` window, where their last screen stays readable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from wezparallel.backends import layouts
from wezparallel.backends.tmux_cmd import SEP, TmuxServer
from wezparallel.spec.model import Layout, ProcessSpec

SESSION_PREFIX = "wezparallel-"
OWNER_OPTION = "@wezparallel_id"
PARKED = "stopped"  # the window that keeps the dead panes of processes stopped for good
NEW_PANE = "#{pane_id} #{pane_pid}"
ROW = "\t".join(["#{pane_id}", "#{pane_pid}", "#{pane_dead}", "#{session_name}",
                  "#{window_id}", "#{pane_left}", "#{pane_top}", "#{pane_width}",
                  "#{pane_height}", "#{" + OWNER_OPTION + "}", "#{window_name}",
                  "#{pane_index}"])


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
    window_name: str = ""
    index: int = 0

    @classmethod
    def parse(cls, line: str) -> PaneRow:
        f = line.split("\t")
        return cls(pane=f[0], pid=int(f[1] or 0), dead=f[2] == "1", session=f[3], window=f[4],
                   box=layouts.PaneBox(f[0], int(f[5]), int(f[6]), int(f[7]), int(f[8])),
                   owner=f[9], window_name=f[10], index=int(f[11] or 0))

    @property
    def parked(self) -> bool:
        return self.window_name == PARKED



@dataclass
class Windows:
    """What the backend remembers about each workspace's window between calls."""

    server: TmuxServer
    last: dict[str, str] = field(default_factory=dict)  # workspace -> pane made most recently
    hinted: set[str] = field(default_factory=set)  # workspaces with hand-sized panes
    layout: dict[str, Layout] = field(default_factory=dict)  # workspace -> set by `layout`
    specs: dict[str, ProcessSpec] = field(default_factory=dict)  # process id -> latest spec

    def split_args(self, spec: ProcessSpec, mine: list[PaneRow],
                   command: list[str]) -> tuple[list[str], str | None]:
        ws = spec.workspace
        previous = self.last.get(ws)
        if previous not in {r.pane for r in mine}:
            previous = mine[-1].pane
        layout = self.layout.get(ws, spec.layout)
        placement = layouts.tmux_placement(layout, spec.pane, previous, ws in self.hinted)
        if layouts.hand_placed(layout, spec.pane):
            self.hinted.add(ws)
        target = placement.target or previous
        return ["split-window", "-P", "-F", NEW_PANE, "-t", target,
                *layouts.tmux_split_args(placement), *command], placement.preset

    def layout_of(self, workspace: str) -> Layout:
        if workspace in self.layout:
            return self.layout[workspace]
        specs = [s for s in self.specs.values() if s.workspace == workspace]
        return specs[-1].layout if specs else Layout.TILED

    async def arrange(self, workspace: str, rows: list[PaneRow]) -> None:
        """Lay the workspace window (`rows`: its live panes) out again: agents first in
        `main-*` layouts, the main pane's `size` as the layout's main pane size, then the
        preset. Hand-sized workspaces are left as the person (or the hints) made them."""
        if workspace in self.hinted or not rows:
            return
        layout = self.layout_of(workspace)
        rows = sorted(rows, key=lambda r: (r.window, r.index))
        window = rows[0].window
        panes = [r.pane for r in rows if r.window == window]
        owners = {r.pane: r.owner for r in rows}
        agents = {p for p in panes if self._is_agent(owners.get(p, ""))}
        args: list[str] = []
        for source, target in layouts.agents_first(layout, panes, agents):
            args += ["swap-pane", "-d", "-s", source, "-t", target, SEP]
        first = layouts.agents_first_order(layout, panes, agents)[0]
        option = layouts.main_pane_option(layout, self._size_of(owners.get(first, "")))
        if option is not None:
            args += ["set-option", "-w", "-t", window, *option, SEP]
        args += ["select-layout", "-t", window, layouts.TMUX_PRESETS[layout]]
        await self.server.run(*args)

    def _is_agent(self, process_id: str) -> bool:
        spec = self.specs.get(process_id)
        return spec is not None and spec.claude is not None

    def _size_of(self, process_id: str) -> layouts.Size | None:
        spec = self.specs.get(process_id)
        return layouts.parse_size(spec.pane.size) if spec is not None else None


def park_args(row: PaneRow, rows: list[PaneRow]) -> list[str]:
    """Move `row`'s pane into its session's `stopped` window (made on first use)."""
    park = next((r.window for r in rows if r.session == row.session and r.parked), None)
    if park is not None:
        return ["join-pane", "-d", "-s", row.pane, "-t", park]
    return ["break-pane", "-d", "-s", row.pane, "-n", PARKED]
