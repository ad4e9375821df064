"""Pure placement decisions for both terminals."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wezparallel.backends.layouts import (
    Direction,
    PaneBox,
    Placement,
    Size,
    parse_size,
    tmux_placement,
    tmux_split_args,
    wezterm_placement,
    wezterm_split_args,
)
from wezparallel.errors import PermanentError
from wezparallel.spec.model import Layout, PaneSpec

NONE = PaneSpec()


@pytest.mark.parametrize(("text", "size"), [("40%", Size(40, True)), (" 12 ", Size(12, False)),
                                            ("99%", Size(99, True)), (None, None)])
def test_sizes_parse(text: str | None, size: Size | None) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["0", "100%", "0%", "40 %", "-3", "half", "12.5"])
def test_bad_sizes_say_what_is_expected(text: str) -> None:
    with pytest.raises(PermanentError, match=r"expected a percentage like '40%' \(1-99\)"):
        parse_size(text)


def test_a_bad_split_direction_is_refused() -> None:
    with pytest.raises(PermanentError, match="expected right, left, top or bottom"):
        tmux_placement(Layout.TILED, PaneSpec(split="up"), "%1", False)


@pytest.mark.parametrize(("layout", "args", "preset"), [
    (Layout.TILED, ["-v", "-f"], "tiled"),
    (Layout.COLUMNS, ["-h", "-f"], "even-horizontal"),
    (Layout.ROWS, ["-v", "-f"], "even-vertical"),
    (Layout.MAIN_LEFT, ["-h", "-f"], "main-vertical"),
    (Layout.MAIN_TOP, ["-v", "-f"], "main-horizontal"),
])
def test_tmux_layouts_split_the_whole_window_then_apply_the_preset(
        layout: Layout, args: list[str], preset: str) -> None:
    p = tmux_placement(layout, NONE, "%4", workspace_hinted=False)
    assert tmux_split_args(p) == args and p.preset == preset and p.target is None


def test_tmux_hints_split_the_previous_pane_and_stop_the_presets() -> None:
    p = tmux_placement(Layout.TILED, PaneSpec(split="left", size="30%"), "%4", False)
    assert p == Placement("%4", Direction.LEFT, Size(30, True), None)
    assert tmux_split_args(p) == ["-h", "-b", "-l", "30%"]
    later = tmux_placement(Layout.ROWS, NONE, "%5", workspace_hinted=True)
    assert later == Placement("%5", Direction.BOTTOM) and tmux_split_args(later) == ["-v"]
    top = tmux_placement(Layout.ROWS, PaneSpec(split="top", size="7"), "%5", True)
    assert tmux_split_args(top) == ["-v", "-b", "-l", "7"]


def boxes(*dims: tuple[int, int, int, int]) -> list[PaneBox]:
    return [PaneBox(str(i), *d) for i, d in enumerate(dims)]


def test_wezterm_columns_and_rows_keep_equal_shares_of_the_tab() -> None:
    three = boxes((0, 0, 53, 48), (54, 0, 53, 48), (108, 0, 52, 48))
    p = wezterm_placement(Layout.COLUMNS, NONE, three, "2")
    assert wezterm_split_args(p) == ["--right", "--top-level", "--percent", "25"]
    p = wezterm_placement(Layout.ROWS, NONE, three[:1], "0")
    assert wezterm_split_args(p) == ["--bottom", "--top-level", "--percent", "50"]


def test_wezterm_main_left_splits_the_main_once_then_the_largest_of_the_stack() -> None:
    first = wezterm_placement(Layout.MAIN_LEFT, NONE, boxes((0, 0, 160, 48)), "0")
    assert first == Placement("0", Direction.RIGHT, Size(50, True))
    stack = boxes((0, 0, 80, 48), (81, 0, 79, 23), (81, 24, 79, 24))
    nxt = wezterm_placement(Layout.MAIN_LEFT, NONE, stack, "2")
    assert nxt == Placement("2", Direction.BOTTOM, Size(50, True))
    top = wezterm_placement(Layout.MAIN_TOP, NONE, stack[:2], "1")
    assert top == Placement("1", Direction.RIGHT, Size(50, True))


def test_wezterm_tiled_splits_the_largest_pane_along_its_longer_side() -> None:
    wide = boxes((0, 0, 160, 48))
    assert wezterm_placement(Layout.TILED, NONE, wide, "0").direction == Direction.RIGHT
    tall = boxes((0, 0, 80, 48), (81, 0, 79, 48))
    assert wezterm_placement(Layout.TILED, NONE, tall, "1") == \
        Placement("0", Direction.BOTTOM, Size(50, True))


def test_wezterm_hint_wins_and_cells_are_cells() -> None:
    p = wezterm_placement(Layout.COLUMNS, PaneSpec(split="top", size="10"),
                          boxes((0, 0, 160, 48)), "0")
    assert wezterm_split_args(p) == ["--top", "--cells", "10"]


@given(st.lists(st.tuples(st.integers(1, 300), st.integers(1, 100)), min_size=1, max_size=12))
def test_tiled_always_splits_a_largest_pane(dims: list[tuple[int, int]]) -> None:
    panes = [PaneBox(str(i), 0, 0, w, h) for i, (w, h) in enumerate(dims)]
    p = wezterm_placement(Layout.TILED, NONE, panes, panes[-1].pane)
    chosen = next(b for b in panes if b.pane == p.target)
    assert chosen.visual_area == max(b.visual_area for b in panes)
    assert p.target == next(b.pane for b in panes if b.visual_area == chosen.visual_area)
