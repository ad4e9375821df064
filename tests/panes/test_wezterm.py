"""The WezTerm backend against the `wezterm` stand-in (tests/fakes/wezterm) on a private tmux."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.panes.conftest import Box, Exits
from tests.wezgui import start_gui
from wezparallel.backends.base import Handle
from wezparallel.backends.wezterm import WezTermBackend
from wezparallel.backends.wrapper import PANEWRAP
from wezparallel.errors import PermanentError, ProgramNotFound
from wezparallel.spec.model import Layout, PaneSpec, ProcessSpec

FAKE = Path(__file__).parent.parent / "fakes" / "wezterm"
LOOP = "while read l; do echo \"got: $l\"; done"
SLEEP = ("sleep", "30")
CLI = ("cli", "--no-auto-start")  # every call: never start a hidden mux server


@pytest.fixture
def wez(box: Box, monkeypatch: pytest.MonkeyPatch) -> Iterator[Box]:
    """A running WezTerm GUI (its mux: the box's tmux server) and nothing pointing at it but
    its gui-sock in the runtime dir, as for a daemon not started from a WezTerm pane."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(box.root / "run"))
    monkeypatch.setenv("FAKE_WEZTERM_LOG", str(box.root / "argv.log"))
    for var in ("WEZTERM_PANE", "WEZTERM_UNIX_SOCKET", "DISPLAY", "FAKE_WEZTERM_EXIT_BEHAVIOR"):
        monkeypatch.delenv(var, raising=False)
    start_gui(box.root / "run", box.socket)
    yield box


def run(coro_fn: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(coro_fn())  # type: ignore[arg-type]


def make(box: Box, exits: Exits | None = None) -> WezTermBackend:
    return WezTermBackend(exits or Exits(), state_dir=box.state, wezterm=str(FAKE))


def argvs(box: Box) -> list[list[str]]:
    return [json.loads(line) for line in (box.root / "argv.log").read_text().splitlines()]


class LaunchFile(str):
    """Equal to any launch file of process `name` (each start gets a random name)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and re.fullmatch(
            re.escape(str.__str__(self)) + r"\.[0-9a-f]{12}\.launch", other) is not None

    __hash__ = str.__hash__


def wrapped(box: Box, name: str, *argv: str) -> list[str]:
    """The pane's argv: the wrapper and a launch file (`argv` travels in the file)."""
    return [sys.executable, "-I", "-S", str(PANEWRAP), "--launch",
            LaunchFile(box.state / "panes" / "ws" / name)]


def geometry(box: Box) -> list[tuple[int, int, int, int]]:
    out = box.tmux("list-panes", "-a", "-F",
                   "#{pane_left} #{pane_top} #{pane_width} #{pane_height}")
    return sorted(tuple(map(int, line.split())) for line in out.splitlines())  # type: ignore[misc]


async def spawn(backend: WezTermBackend, spec: ProcessSpec) -> Handle:
    return await backend.spawn(spec, spec.command, Path("/nonexistent/log"))


async def wait_text(backend: WezTermBackend, h: Handle, text: str) -> str:
    for _ in range(1000):
        screen = backend.capture(h, 40)
        if text in screen:
            return screen
        await asyncio.sleep(0.01)
    raise AssertionError(f"{text!r} never appeared in pane {h.pane}")


def test_exact_argv_for_a_window_then_a_split(wez: Box) -> None:
    backend = make(wez)
    specs = [wez.spec("a", *SLEEP, layout=Layout.COLUMNS),
             wez.spec("b", *SLEEP, layout=Layout.COLUMNS)]
    handles = run(lambda: spawn_all(backend, specs))
    assert [h.pane for h in handles] == ["0", "1"]
    listing = [*CLI, "list", "--format", "json"]
    assert argvs(wez) == [
        ["--version"], listing,
        [*CLI, "spawn", "--new-window", "--workspace", "ws", "--cwd", str(wez.root), "--",
         *wrapped(wez, "a", *SLEEP)],
        [*CLI, "set-tab-title", "--pane-id", "0", "ws"],
        listing,
        [*CLI, "split-pane", "--pane-id", "0", "--right", "--top-level", "--percent", "50",
         "--cwd", str(wez.root), "--", *wrapped(wez, "b", *SLEEP)],
    ]


async def spawn_all(backend: WezTermBackend, specs: list[ProcessSpec]) -> list[Handle]:
    return [await spawn(backend, spec) for spec in specs]


def test_environment_goes_through_the_launch_file(wez: Box) -> None:
    backend = make(wez)
    spec = ProcessSpec(workspace="ws", name="e", command=("sh", "-c", "echo FOO=$FOO; sleep 30"),
                       cwd=str(wez.root), env=(("FOO", "bar baz"),))

    async def scenario() -> str:
        h = await spawn(backend, spec)
        return await wait_text(backend, h, "FOO=bar baz")

    assert "FOO=bar baz" in run(scenario)
    spawn_argv = next(a for a in argvs(wez) if a[2:3] == ["spawn"])
    assert not any("FOO" in a for a in spawn_argv)  # not on a command line `ps` shows


CHECKS: dict[Layout, Callable[[list[tuple[int, int, int, int]]], bool]] = {
    Layout.COLUMNS: lambda g: len({t for _, t, *_ in g}) == 1
    and max(w for *_, w, _ in g) - min(w for *_, w, _ in g) <= 2,
    Layout.ROWS: lambda g: len({lf for lf, *_ in g}) == 1
    and max(h for *_, h in g) - min(h for *_, h in g) <= 2,
    Layout.TILED: lambda g: len({lf for lf, *_ in g}) == 2 and len({t for _, t, *_ in g}) == 2,
    Layout.MAIN_LEFT: lambda g: g[0][:2] == (0, 0) and g[0][3] == 24
    and len({lf for lf, *_ in g[1:]}) == 1,
    Layout.MAIN_TOP: lambda g: g[0][:2] == (0, 0) and g[0][2] == 80
    and len({t for _, t, *_ in g[1:]}) == 1,
}


@pytest.mark.parametrize("layout", list(Layout))
def test_panes_follow_the_layout(wez: Box, layout: Layout) -> None:
    backend = make(wez)

    async def scenario() -> list[Handle]:
        return [await spawn(backend, wez.spec(f"p{i}", *SLEEP, layout=layout))
                for i in range(4)]

    handles = run(scenario)
    assert len({h.pane for h in handles}) == 4
    g = geometry(wez)
    assert len(g) == 4 and CHECKS[layout](g), (layout, g)


def test_exit_code_survives_a_pane_that_closes_with_its_program(wez: Box) -> None:
    exits = Exits()
    backend = make(wez, exits)

    async def scenario() -> tuple[Handle, Any]:
        h = await spawn(backend, wez.spec("x", "sh", "-c", "sleep 0.2; exit 3"))
        return h, await exits.wait(h)

    h, info = run(scenario)
    assert (info.code, info.signal, info.known) == (3, None, True)
    listed = backend.list_panes()
    assert h.pane not in {p.pane_id for p in listed}  # exit_behavior Close: the pane is gone


def test_sigkill_is_reported_and_a_restart_gets_a_pane_in_the_same_window(wez: Box) -> None:
    exits = Exits()
    backend = make(wez, exits)

    async def scenario() -> tuple[Handle, Any, Handle]:
        keep = await spawn(backend, wez.spec("keep", *SLEEP))
        k = await spawn(backend, wez.spec("k", *SLEEP))
        child = await wait_child(backend, k)
        os.kill(child, signal.SIGKILL)
        info = await exits.wait(k)
        again = await spawn(backend, wez.spec("k", *SLEEP))
        await backend.close(leave_running=True)
        return keep, info, again

    keep, info, again = run(scenario)
    assert info.signal == signal.SIGKILL
    panes = {p.pane_id: p for p in make(wez).list_panes()}
    assert set(panes) == {keep.pane, again.pane}
    assert panes[str(again.pane)].window_id == panes[str(keep.pane)].window_id


def test_with_hold_a_restart_replaces_the_dead_pane(wez: Box,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_WEZTERM_EXIT_BEHAVIOR", "Hold")
    exits = Exits()
    backend = make(wez, exits)

    async def scenario() -> tuple[Handle, Handle]:
        first = await spawn(backend, wez.spec("h", "sh", "-c", "exit 4"))
        assert (await exits.wait(first)).code == 4
        second = await spawn(backend, wez.spec("h", *SLEEP))
        await backend.close(leave_running=True)
        return first, second

    first, second = run(scenario)
    live = [p.pane_id for p in make(wez).list_panes()]
    assert live == [second.pane] and first.pane != second.pane
    assert [*CLI, "kill-pane", "--pane-id", first.pane] in argvs(wez)


async def wait_child(backend: WezTermBackend, handle: Handle) -> int:
    for _ in range(1000):
        child = backend.child_pid(handle)
        if child is not None:
            return child
        await asyncio.sleep(0.01)
    raise AssertionError("the wrapper never recorded its child")


def test_send_then_capture_round_trip_and_broadcast(wez: Box) -> None:
    backend = make(wez)

    async def scenario() -> tuple[list[Handle], list[str]]:
        hs = [await spawn(backend, wez.spec(f"e{i}", "sh", "-c", LOOP)) for i in range(3)]
        for h in hs:
            await wait_child(backend, h)
        backend.paste(hs[:1], "solo", bracket=False)
        backend.press_enter(hs[:1])
        await wait_text(backend, hs[0], "got: solo")
        backend.paste(hs, "everyone", bracket=False)
        backend.press_enter(hs)
        return hs, [await wait_text(backend, h, "got: everyone") for h in hs]

    hs, screens = run(scenario)
    assert all("got: everyone" in s for s in screens)
    assert "got: solo" not in screens[1]
    log = argvs(wez)
    assert [*CLI, "send-text", "--pane-id", hs[0].pane] in log
    assert [*CLI, "send-text", "--pane-id", hs[0].pane, "--no-paste", "\r"] in log
    assert [*CLI, "get-text", "--pane-id", hs[0].pane, "--start-line", "-40"] in log


def test_a_fresh_backend_adopts_by_pane_wrapper_pid_and_start_time(wez: Box) -> None:
    exits = Exits()

    async def scenario() -> tuple[bool, bool, bool, Any]:
        old = make(wez)
        h = await spawn(old, wez.spec("long", *SLEEP))
        child = await wait_child(old, h)
        await old.close(leave_running=True)
        fresh = make(wez, exits)
        impostor = Handle(h.id, h.pid, "wezterm", (h.create_time or 0) - 50, h.pane)
        gone = Handle(h.id, h.pid, "wezterm", h.create_time, "999")
        refused = fresh.adopt(impostor), fresh.adopt(gone)
        ok = fresh.adopt(h)
        os.kill(child, signal.SIGKILL)
        return ok, refused[0], refused[1], await exits.wait(h)

    ok, by_time, by_pane, info = run(scenario)
    assert ok and not by_time and not by_pane
    assert info.signal == signal.SIGKILL


def test_stop_sends_the_signal_and_waits(wez: Box) -> None:
    exits = Exits()
    backend = make(wez, exits)

    async def scenario() -> list[Any]:
        h = await spawn(backend, wez.spec("s", *SLEEP))
        await wait_child(backend, h)
        await backend.stop(h, signal.SIGTERM, 10)
        return [i for hh, i in exits.seen if hh == h]

    seen = run(scenario)
    assert len(seen) == 1 and seen[0].signal == signal.SIGTERM


def test_a_remote_domain_pane_runs_the_program_directly(wez: Box) -> None:
    exits = Exits()
    backend = make(wez, exits)
    spec = ProcessSpec(workspace="ws", name="far", command=SLEEP, cwd=str(wez.root),
                       pane=PaneSpec(domain="SSHMUX:devbox"))

    async def scenario() -> tuple[Handle, Any]:
        h = await spawn(backend, spec)
        await backend.stop(h, signal.SIGTERM, 5)
        return h, await exits.wait(h)

    h, info = run(scenario)
    assert h.pid == 0 and not info.known
    assert [*CLI, "spawn", "--domain-name", "SSHMUX:devbox", "--new-window", "--workspace",
            "ws", "--cwd", str(wez.root), "--", *SLEEP] in argvs(wez)
    assert [*CLI, "kill-pane", "--pane-id", h.pane] in argvs(wez)


def test_attach_activates_and_layout_is_refused_clearly(wez: Box) -> None:
    backend = make(wez)
    h = run(lambda: spawn(backend, wez.spec("a", *SLEEP)))
    assert backend.attach(h, {}) is None
    assert [*CLI, "activate-pane", "--pane-id", h.pane] in argvs(wez)
    with pytest.raises(PermanentError, match="cannot re-arrange"):
        backend.apply_layout("ws", Layout.ROWS)


def test_an_old_release_is_refused_naming_the_missing_verbs(
        wez: Box, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_WEZTERM_VERSION", "20230320-124340-559cb7b0")
    backend = make(wez)
    with pytest.raises(PermanentError) as err:
        backend.list_panes()
    assert str(err.value) == (
        f"{FAKE} 20230320 is too old for wezparallel: `wezterm cli` lacks activate-pane "
        "(since 20230326), kill-pane (since 20230326), set-tab-title (since 20230408); "
        "install WezTerm 20230408 or newer, or use backend: tmux")
    assert argvs(wez) == [["--version"]]


def test_a_missing_wezterm_is_program_not_found(wez: Box) -> None:
    backend = WezTermBackend(Exits(), state_dir=wez.state, wezterm=str(wez.root / "nowez"))
    with pytest.raises(ProgramNotFound, match="nowez: not found"):
        backend.list_panes()
