"""Where a new pane goes: the workspace `layout` and a process's `pane:` hints turned into one
split decision, for tmux and for WezTerm. Pure: the backends hand in what they observed.

Rules, the same for both terminals:
- The first process of a workspace gets the window; every later one splits a pane.
- A process with a `split`/`size` hint splits the previous process's pane that way, and from
  then on the workspace keeps hand-made sizes (no preset is re-applied over them). In tmux's
  `main-*` layouts a `size` without `split` is the main pane's size instead, and agents are
  moved first so that one of them holds the main pane.
- Otherwise the layout decides. tmux has a preset per layout (`select-layout`), re-applied after
  each split so the arrangement converges whatever the order of spawns; the split itself spans
  the whole window (`-f`) so it never runs out of room in a small pane. WezTerm has no presets:
  columns/rows split the whole tab (`--top-level`) with the share that keeps all panes equal,
  tiled splits the largest pane along its longer side, main-left/main-top split the main pane
  once and then the largest pane of the stack.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from wezparallel.errors import PermanentError
from wezparallel.spec.model import Layout, PaneSpec


class Direction(enum.StrEnum):
    RIGHT = "right"
    LEFT = "left"
    TOP = "top"
    BOTTOM = "bottom"

    @property
    def horizontal(self) -> bool:
        return self in (Direction.LEFT, Direction.RIGHT)

    @property
    def before(self) -> bool:
        """The new pane goes left of / above the split one."""
        return self in (Direction.LEFT, Direction.TOP)


@dataclass(frozen=True)
class Size:
    amount: int
    percent: bool

    def __str__(self) -> str:
        return f"{self.amount}%" if self.percent else str(self.amount)


@dataclass(frozen=True)
class PaneBox:
    """A pane's place in its window, in cells."""

    pane: str
    left: int
    top: int
    width: int
    height: int

    @property
    def visual_area(self) -> int:
        return self.width * self.height * 2  # a cell is about twice as tall as wide


@dataclass(frozen=True)
class Placement:
    """Split `target` (None: the whole window/tab) towards `direction`, giving the new pane
    `size`; then apply tmux `preset` when there is one."""

    target: str | None
    direction: Direction
    size: Size | None = None
    preset: str | None = None


TMUX_PRESETS: dict[Layout, str] = {
    Layout.TILED: "tiled",
    Layout.COLUMNS: "even-horizontal",
    Layout.ROWS: "even-vertical",
    Layout.MAIN_LEFT: "main-vertical",
    Layout.MAIN_TOP: "main-horizontal",
}
_AXIS: dict[Layout, Direction] = {
    Layout.TILED: Direction.BOTTOM,
    Layout.COLUMNS: Direction.RIGHT,
    Layout.ROWS: Direction.BOTTOM,
    Layout.MAIN_LEFT: Direction.RIGHT,
    Layout.MAIN_TOP: Direction.BOTTOM,
}


def parse_size(text: str | None) -> Size | None:
    """`"40%"` or a number of cells; anything else is a user error, said where it matters."""
    if text is None:
        return None
    raw = text.strip()
    percent = raw.endswith("%")
    digits = raw[:-1] if percent else raw
    if not digits.isdigit() or int(digits) <= 0 or (percent and int(digits) >= 100):
        raise PermanentError(f"pane size {text!r}: expected a percentage like '40%' "
                             "(1-99) or a number of cells")
    return Size(int(digits), percent)


MAIN_LAYOUTS = frozenset({Layout.MAIN_LEFT, Layout.MAIN_TOP})


def hinted(hint: PaneSpec) -> bool:
    return hint.split is not None or hint.size is not None


def hand_placed(layout: Layout, hint: PaneSpec) -> bool:
    """Whether tmux places the pane by its hints rather than by the layout's preset. In
    `main-*` layouts a `size` alone is the main pane's size, which the preset honours."""
    if layout in MAIN_LAYOUTS and hint.split is None:
        return False
    return hinted(hint)


def agents_first_order(layout: Layout, panes: Sequence[str], agents: set[str]) -> list[str]:
    """The pane order a window should have: in `main-*` layouts the agents first (the first
    pane is the main one), each group in its current order; other layouts keep the order."""
    if layout not in MAIN_LAYOUTS:
        return list(panes)
    return [p for p in panes if p in agents] + [p for p in panes if p not in agents]


def agents_first(layout: Layout, panes: Sequence[str],
                 agents: set[str]) -> list[tuple[str, str]]:
    """The `swap-pane -s A -t B` pairs that turn the order `panes` into `agents_first_order`."""
    current = list(panes)
    swaps: list[tuple[str, str]] = []
    for i, want in enumerate(agents_first_order(layout, panes, agents)):
        if current[i] != want:
            j = current.index(want)
            swaps.append((want, current[i]))
            current[i], current[j] = current[j], current[i]
    return swaps


def main_pane_option(layout: Layout, size: Size | None) -> tuple[str, str] | None:
    """The tmux window option that gives the main pane of a `main-*` layout its size."""
    option = {Layout.MAIN_LEFT: "main-pane-width",
              Layout.MAIN_TOP: "main-pane-height"}.get(layout)
    if option is None or size is None:
        return None
    return option, str(size)


def _by_hint(hint: PaneSpec, previous: str) -> Placement:
    try:
        direction = Direction(hint.split or "bottom")
    except ValueError:
        raise PermanentError(f"pane split {hint.split!r}: expected right, left, top or "
                             "bottom") from None
    return Placement(previous, direction, parse_size(hint.size))


def tmux_placement(layout: Layout, hint: PaneSpec, previous: str,
                   workspace_hinted: bool) -> Placement:
    """Where tmux puts a workspace's next pane (not its first)."""
    if hand_placed(layout, hint):
        return _by_hint(hint, previous)
    if workspace_hinted:
        return Placement(previous, _AXIS[layout])
    return Placement(None, _AXIS[layout], preset=TMUX_PRESETS[layout])


def tmux_split_args(p: Placement) -> list[str]:
    args = ["-h" if p.direction.horizontal else "-v"]
    if p.direction.before:
        args.append("-b")
    if p.target is None:
        args.append("-f")
    if p.size is not None:
        args += ["-l", str(p.size)]
    return args


def wezterm_placement(layout: Layout, hint: PaneSpec, panes: Sequence[PaneBox],
                      previous: str) -> Placement:
    """Where WezTerm puts a workspace's next pane; `panes` are the workspace's panes in
    creation order (at least one)."""
    if hinted(hint):
        return _by_hint(hint, previous)
    share = Size(max(1, 100 // (len(panes) + 1)), True)
    if layout == Layout.COLUMNS:
        return Placement(None, Direction.RIGHT, share)
    if layout == Layout.ROWS:
        return Placement(None, Direction.BOTTOM, share)
    if layout in (Layout.MAIN_LEFT, Layout.MAIN_TOP):
        main_dir, stack_dir = ((Direction.RIGHT, Direction.BOTTOM) if layout == Layout.MAIN_LEFT
                               else (Direction.BOTTOM, Direction.RIGHT))
        if len(panes) == 1:
            return Placement(panes[0].pane, main_dir, Size(50, True))
        return Placement(_largest(panes[1:]).pane, stack_dir, Size(50, True))
    big = _largest(panes)
    direction = Direction.RIGHT if big.width >= 2 * big.height else Direction.BOTTOM
    return Placement(big.pane, direction, Size(50, True))


def _largest(panes: Sequence[PaneBox]) -> PaneBox:
    """The biggest pane; the earliest one on a tie, so the result does not depend on order."""
    return max(panes, key=lambda b: b.visual_area)


def wezterm_split_args(p: Placement) -> list[str]:
    args = [f"--{p.direction.value}"]
    if p.target is None:
        args.append("--top-level")
    if p.size is not None:
        args += ["--percent", str(p.size.amount)] if p.size.percent \
            else ["--cells", str(p.size.amount)]
    return args
