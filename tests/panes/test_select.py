"""`backend: auto` resolution, with an injected `which`."""

from __future__ import annotations

import pytest

from wezparallel.backends.select import explain_auto, resolve_auto


def which_of(*installed: str):  # type: ignore[no-untyped-def]
    def which(program: str, path: str | None) -> str | None:
        return f"/usr/bin/{program}" if program in installed else None
    return which


@pytest.mark.parametrize(("environ", "installed", "expected"), [
    ({"WEZTERM_PANE": "3"}, ("wezterm", "tmux"), "wezterm"),
    ({"WEZTERM_UNIX_SOCKET": "/run/user/1/wezterm/sock"}, ("wezterm",), "wezterm"),
    ({"WEZTERM_PANE": ""}, ("wezterm", "tmux"), "tmux"),
    ({"WEZTERM_PANE": "3"}, ("tmux",), "tmux"),
    ({}, ("wezterm", "tmux"), "tmux"),
    ({}, (), "subprocess"),
    ({"WEZTERM_PANE": "3"}, (), "subprocess"),
])
def test_auto_picks_wezterm_inside_wezterm_else_tmux_else_headless(
        environ: dict[str, str], installed: tuple[str, ...], expected: str) -> None:
    assert resolve_auto(environ, which_of(*installed)) == expected


def test_the_reason_names_what_was_seen() -> None:
    assert explain_auto({"WEZTERM_PANE": "3"}, which_of("tmux")) == (
        "tmux", "tmux is installed and WezTerm is not in use "
        "($WEZTERM_PANE is set but `wezterm` is not on PATH)")
    assert explain_auto({"WEZTERM_PANE": "3"}, which_of("wezterm"))[1] == \
        "running inside WezTerm ($WEZTERM_PANE is set)"


def test_the_real_which_finds_the_installed_tmux() -> None:
    assert resolve_auto({"PATH": "/usr/bin:/bin"}) == "tmux"
    assert resolve_auto({"PATH": "/nonexistent"}) == "subprocess"
