"""The tmux backend against a real tmux server on a private socket."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest

from tests.panes.conftest import Box, Exits, processes_mentioning
from tests.support import pid_alive
from wezparallel.backends.base import Handle
from wezparallel.backends.tmux import TmuxBackend
from wezparallel.errors import BackendError, SpawnError
from wezparallel.spec.model import ClaudeSpec, Layout, PaneSpec

LOOP = "while read l; do echo \"got: $l\"; done"


def run(coro_fn: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(coro_fn())  # type: ignore[arg-type]


def geometry(box: Box) -> list[tuple[int, int, int, int]]:
    """(left, top, width, height) of every pane, in pane-index order."""
    out = box.tmux("list-panes", "-a", "-F",
                   "#{pane_left} #{pane_top} #{pane_width} #{pane_height}")
    return [tuple(map(int, line.split())) for line in out.splitlines()]  # type: ignore[misc]


def pane_state(box: Box, pane: str) -> tuple[str, str]:
    out = box.tmux("display-message", "-p", "-t", pane, "#{pane_dead} #{pane_pid}")
    dead, pid = out.split()
    return dead, pid


async def spawn_n(backend: TmuxBackend, box: Box, n: int, layout: Layout,
                  *command: str) -> list[Handle]:
    argv = command or ("sleep", "30")
    return [await backend.spawn(box.spec(f"p{i}", *argv, layout=layout), argv,
                                box.log(f"p{i}"))
            for i in range(n)]


async def spawn_specs(backend: TmuxBackend, box: Box, specs: list[Any]) -> list[Handle]:
    return [await backend.spawn(s, s.command, box.log(s.name)) for s in specs]


def make(box: Box, exits: Exits | None = None) -> TmuxBackend:
    return TmuxBackend(exits or Exits(), socket_path=box.socket, state_dir=box.state)


def near(values: list[int], tolerance: int = 2) -> bool:
    return max(values) - min(values) <= tolerance


CHECKS: dict[Layout, Callable[[list[tuple[int, int, int, int]]], bool]] = {
    Layout.COLUMNS: lambda g: len({t for _, t, _, _ in g}) == 1
    and near([w for _, _, w, _ in g]) and len({lf for lf, *_ in g}) == 4,
    Layout.ROWS: lambda g: len({lf for lf, *_ in g}) == 1
    and near([h for *_, h in g], 3) and all(w == 200 for _, _, w, _ in g),
    Layout.TILED: lambda g: len({lf for lf, *_ in g}) == 2 and len({t for _, t, *_ in g}) == 2
    and near([w for _, _, w, _ in g]) and near([h for *_, h in g]),
    Layout.MAIN_LEFT: lambda g: g[0][:2] == (0, 0) and g[0][3] == 50
    and len({lf for lf, *_ in g[1:]}) == 1 and len({t for _, t, *_ in g[1:]}) == 3,
    Layout.MAIN_TOP: lambda g: g[0][:2] == (0, 0) and g[0][2] == 200
    and len({t for _, t, *_ in g[1:]}) == 1 and len({lf for lf, *_ in g[1:]}) == 3,
}


@pytest.mark.parametrize("layout", list(Layout))
def test_panes_are_arranged_by_the_workspace_layout(box: Box, layout: Layout) -> None:
    backend = make(box)

    async def scenario() -> list[Handle]:
        handles = await spawn_n(backend, box, 4, layout)
        await backend.close()  # panes still alive: the server stays
        return handles

    handles = run(scenario)
    assert len({h.pane for h in handles}) == 4
    g = geometry(box)
    assert len(g) == 4 and CHECKS[layout](g), (layout, g)
    sessions = box.tmux("list-sessions", "-F", "#{session_name}").split()
    assert sessions == ["wezparallel-ws"]


def test_pane_hints_split_the_previous_pane_and_keep_their_size(box: Box) -> None:
    backend = make(box)
    specs = [box.spec("main", "sleep", "30", layout=Layout.TILED),
             box.spec("side", "sleep", "30", pane=PaneSpec(split="right", size="30%")),
             box.spec("under", "sleep", "30", pane=PaneSpec(split="bottom", size="10"))]
    run(lambda: spawn_specs(backend, box, specs))
    g = sorted(geometry(box))
    main, side, under = g[0], g[1], g[2]
    assert main[:2] == (0, 0) and main[3] == 50
    assert 59 <= side[2] <= 61 and side[3] == 50 - 10 - 1  # 30% wide, then 10 rows taken
    assert under[3] == 10 and under[0] == side[0]


def test_normal_exit_code_is_reported_and_the_dead_pane_stays(box: Box) -> None:
    exits = Exits()
    backend = make(box, exits)

    async def scenario() -> tuple[Handle, Any]:
        h = await backend.spawn(box.spec("x", "sh", "-c", "echo bye; exit 3"),
                                ("sh", "-c", "echo bye; exit 3"), box.log("x"))
        return h, await exits.wait(h)

    handle, info = run(scenario)
    assert (info.code, info.signal, info.known) == (3, None, True)
    assert pane_state(box, handle.pane or "")[0] == "1"
    assert "bye" in run(lambda: backend.capture(handle, 20))
    assert "bye" in box.log("x").read_text()  # pipe-pane copied the output


def test_sigkilled_process_reports_signal_9_and_restarts_in_the_same_pane(box: Box) -> None:
    exits = Exits()
    backend = make(box, exits)

    async def scenario() -> tuple[Handle, Any, Handle]:
        first = await backend.spawn(box.spec("k", "sleep", "30"), ("sleep", "30"), box.log("k"))
        child = await wait_child(backend, first)
        os.kill(child, signal.SIGKILL)  # from outside, like the OOM killer
        info = await exits.wait(first)
        second = await backend.spawn(box.spec("k", "sleep", "30"), ("sleep", "30"),
                                     box.log("k"))
        await wait_child(backend, second)
        return first, info, second

    first, info, second = run(scenario)
    assert (info.signal, info.code) == (signal.SIGKILL, None)
    assert second.pane == first.pane and second.pid != first.pid
    dead, pid = pane_state(box, second.pane or "")
    assert dead == "0" and int(pid) == second.pid
    assert len(geometry(box)) == 1


async def wait_child(backend: TmuxBackend, handle: Handle) -> int:
    for _ in range(1000):
        child = backend.child_pid(handle)
        if child is not None:
            return child
        await asyncio.sleep(0.01)
    raise AssertionError("the wrapper never recorded its child")


async def wait_text(backend: TmuxBackend, handle: Handle, text: str) -> str:
    for _ in range(1000):
        screen = await backend.capture(handle, 50)
        if text in screen:
            return screen
        await asyncio.sleep(0.01)
    raise AssertionError(f"{text!r} never appeared in {handle.pane}")


def test_stop_signals_through_the_wrapper_and_waits_for_the_exit(box: Box) -> None:
    exits = Exits()
    backend = make(box, exits)
    trap = "trap 'echo usr1; exit 7' USR1; echo ready; while :; do sleep 0.05; done"

    async def scenario() -> tuple[Any, Any, int]:
        a = await backend.spawn(box.spec("a", "sh", "-c", trap), ("sh", "-c", trap),
                                box.log("a"))
        await wait_text(backend, a, "ready")  # the trap is set
        backend.signal(a, signal.SIGUSR1)
        usr1 = await exits.wait(a)
        b = await backend.spawn(box.spec("b", "sleep", "30"), ("sleep", "30"), box.log("b"))
        child = await wait_child(backend, b)
        await backend.stop(b, signal.SIGTERM, 10)
        return usr1, [i for h, i in exits.seen if h == b], child

    usr1, b_exits, child = run(scenario)
    assert usr1.code == 7
    assert len(b_exits) == 1 and b_exits[0].signal == signal.SIGTERM
    assert not pid_alive(child)


def test_paste_enter_then_capture_round_trip(box: Box) -> None:
    backend = make(box)

    async def scenario() -> str:
        h = await backend.spawn(box.spec("echo", "sh", "-c", LOOP), ("sh", "-c", LOOP),
                                box.log("echo"))
        await wait_child(backend, h)
        await backend.paste([h], "hello pane", bracket=False)
        await backend.press_enter([h])
        for _ in range(500):
            text = await backend.capture(h, 10)
            if "got: hello pane" in text:
                return text
            await asyncio.sleep(0.01)
        return await backend.capture(h, 10)

    assert "got: hello pane" in run(scenario)


def test_paste_without_enter_types_but_does_not_submit(box: Box) -> None:
    backend = make(box)

    async def scenario() -> tuple[str, str]:
        h = await backend.spawn(box.spec("echo", "sh", "-c", LOOP), ("sh", "-c", LOOP),
                                box.log("echo"))
        await wait_child(backend, h)
        await backend.paste([h], "half", bracket=False)
        await asyncio.sleep(0.3)
        before = await backend.capture(h, 10)
        await backend.paste([h], " done", bracket=False)
        await backend.press_enter([h])
        for _ in range(500):
            if "got: half done" in await backend.capture(h, 10):
                break
            await asyncio.sleep(0.01)
        return before, await backend.capture(h, 10)

    before, after = run(scenario)
    assert "half" in before and "got:" not in before
    assert "got: half done" in after


def test_broadcast_reaches_every_pane_of_the_workspace(box: Box) -> None:
    backend = make(box)

    async def scenario() -> list[str]:
        hs = await spawn_n(backend, box, 3, Layout.TILED, "sh", "-c", LOOP)
        for h in hs:
            await wait_child(backend, h)
        await backend.paste(hs, "all hands", bracket=False)
        await backend.press_enter(hs)
        texts: list[str] = []
        for _ in range(500):
            texts = [await backend.capture(h, 10) for h in hs]
            if all("got: all hands" in t for t in texts):
                break
            await asyncio.sleep(0.01)
        return texts

    texts = run(scenario)
    assert len(texts) == 3 and all("got: all hands" in t for t in texts), texts


def test_a_fresh_backend_adopts_a_running_pane_and_reports_its_exit(box: Box) -> None:
    exits = Exits()

    async def scenario() -> tuple[bool, bool, bool, Any]:
        old = make(box)
        h = await old.spawn(box.spec("long", "sleep", "30"), ("sleep", "30"), box.log("long"))
        child = await wait_child(old, h)
        await old.close(leave_running=True)
        fresh = make(box, exits)
        impostor = Handle(h.id, h.pid, "tmux", (h.create_time or 0) - 100, h.pane)
        wrong_pane = Handle(h.id, h.pid, "tmux", h.create_time, "%999")
        refused = (fresh.adopt(impostor), fresh.adopt(wrong_pane))
        adopted = fresh.adopt(h)
        os.kill(child, signal.SIGKILL)
        info = await exits.wait(h)
        return adopted, refused[0], refused[1], info

    adopted, by_time, by_pane, info = run(scenario)
    assert adopted and not by_time and not by_pane
    assert info.signal == signal.SIGKILL


def test_after_a_daemon_restart_the_dead_pane_is_found_again_and_reused(box: Box) -> None:
    exits = Exits()

    async def scenario() -> tuple[Handle, Handle]:
        old = make(box, exits)
        first = await old.spawn(box.spec("once", "true"), ("true",), box.log("once"))
        await exits.wait(first)
        await old.close(leave_running=True)
        fresh = make(box)
        second = await fresh.spawn(box.spec("once", "sleep", "30"), ("sleep", "30"),
                                   box.log("once"))
        await fresh.close(leave_running=True)
        return first, second

    first, second = run(scenario)
    assert first.pane == second.pane
    assert pane_state(box, second.pane or "") == ("0", str(second.pid))


def test_close_kills_its_own_server_only_when_nothing_runs(box: Box) -> None:
    exits = Exits()

    async def scenario() -> tuple[str, bool]:
        backend = make(box, exits)
        h = await backend.spawn(box.spec("s", "sleep", "30"), ("sleep", "30"), box.log("s"))
        await backend.close()
        still = box.tmux("list-sessions", "-F", "#{session_name}")
        again = make(box, exits)
        assert again.adopt(h)
        await again.stop(h, signal.SIGTERM, 10)
        await again.close()
        return still, await again.server.alive()

    still, alive_after = run(scenario)
    assert still.split() == ["wezparallel-ws"]
    assert not alive_after


def test_a_missing_program_or_directory_is_a_spawn_error_before_any_pane(box: Box) -> None:
    backend = make(box)
    missing_dir = box.spec("d", "sleep", "1")
    missing_dir = type(missing_dir)(workspace="ws", name="d", command=("sleep", "1"),
                                    cwd=str(box.root / "nope"))

    async def scenario() -> list[str]:
        messages = []
        for spec in (box.spec("p", "no-such-program-xyz"), missing_dir):
            with pytest.raises(SpawnError) as err:
                await backend.spawn(spec, spec.command, box.log(spec.name))
            messages.append(str(err.value))
        return messages

    messages = run(scenario)
    assert "no-such-program-xyz" in messages[0] and "nope" in messages[1]
    assert not run(backend.server.alive)


def test_apply_layout_rearranges_a_running_workspace(box: Box) -> None:
    backend = make(box)
    run(lambda: spawn_n(backend, box, 4, Layout.COLUMNS))
    assert CHECKS[Layout.COLUMNS](geometry(box))
    run(lambda: backend.apply_layout("ws", Layout.ROWS))
    assert CHECKS[Layout.ROWS](geometry(box))


def test_attach_argv_targets_the_pane_on_our_socket(box: Box) -> None:
    backend = make(box)
    h = Handle("ws:a", 1, "tmux", None, "%3")
    outside = backend.attach(h, {})
    assert outside == ["env", "-u", "TMUX", "tmux", "-S", str(box.socket), "select-window",
                       "-t", "%3", ";", "select-pane", "-t", "%3", ";", "attach-session",
                       "-t", "=wezparallel-ws"]
    inside = backend.attach(h, {"TMUX": f"{box.socket},123,0"})
    assert inside[-3:] == ["switch-client", "-t", "%3"] and inside[0] == "tmux"


LEAVES = ("{nap} 600 & (setsid {nap} 601 &) & setsid {nap} 602 & "
          "sleep 0.3; echo left; exit 3")


def test_what_the_program_leaves_behind_ends_with_it(box: Box) -> None:
    """A background job, a double fork into its own session and a `setsid` child: all gone
    by the time the exit is reported (the wrapper is their subreaper)."""
    exits = Exits()
    backend = make(box, exits)
    nap = box.root / "nap"
    nap.symlink_to("/bin/sleep")  # argv[0] names the box: every nap is findable
    script = LEAVES.format(nap=nap)

    async def scenario() -> tuple[Any, list[int]]:
        h = await backend.spawn(box.spec("leaver", "sh", "-c", script), ("sh", "-c", script),
                                box.log("leaver"))
        info = await exits.wait(h)
        return info, processes_mentioning(str(nap))

    info, left = run(scenario)
    assert info.code == 3
    assert left == []


def window_of(box: Box) -> dict[str, tuple[str, int, int, int, int]]:
    """pane id -> (window name, left, top, width, height)."""
    out = box.tmux("list-panes", "-a", "-F", "#{pane_id} #{window_name} #{pane_left} "
                   "#{pane_top} #{pane_width} #{pane_height}")
    rows = (line.split() for line in out.splitlines())
    return {r[0]: (r[1], int(r[2]), int(r[3]), int(r[4]), int(r[5])) for r in rows}


@pytest.mark.parametrize("layout", [Layout.MAIN_LEFT, Layout.MAIN_TOP])
def test_in_main_layouts_the_agent_takes_the_main_pane_with_its_size(
        box: Box, layout: Layout) -> None:
    backend = make(box)
    agent = replace(box.spec("agent", "sleep", "30", layout=layout, pane=PaneSpec(size="60%")),
                    claude=ClaudeSpec())
    specs = [box.spec("web", "sleep", "30", layout=layout),
             agent, box.spec("db", "sleep", "30", layout=layout)]
    handles = run(lambda: spawn_specs(backend, box, specs))
    panes = window_of(box)
    main = panes[handles[1].pane or ""]
    assert main[1:3] == (0, 0), panes
    if layout == Layout.MAIN_LEFT:
        assert main[4] == 50 and 119 <= main[3] <= 121, panes
    else:
        assert main[3] == 200 and 29 <= main[4] <= 31, panes
    others = [panes[h.pane or ""] for h in (handles[0], handles[2])]
    assert all(o[1:3] != (0, 0) for o in others)


def test_a_retired_pane_leaves_the_layout_keeps_its_screen_and_comes_back(box: Box) -> None:
    exits = Exits()
    backend = make(box, exits)
    command = ("sh", "-c", "echo I-was-here; exec sleep 30")
    specs = [box.spec(f"p{i}", *command, layout=Layout.COLUMNS) for i in range(3)]

    async def scenario() -> tuple[dict[str, Any], str, dict[str, Any], Handle]:
        hs = await spawn_specs(backend, box, specs)
        await wait_text(backend, hs[1], "I-was-here")
        await backend.stop(hs[1], signal.SIGTERM, 10)
        await exits.wait(hs[1])
        await backend.retire("ws:p1", gone=False)
        parked = window_of(box)
        text = await backend.capture(hs[1], 10)
        again = await backend.spawn(specs[1], command, box.log("p1"))
        return parked, text, window_of(box), again

    parked, text, after, again = run(scenario)
    live = sorted(v for v in parked.values() if v[0] != "stopped")
    assert len(live) == 2 and all(99 <= w <= 100 for _, _, _, w, _ in live), parked
    assert [v[0] for v in parked.values()].count("stopped") == 1
    assert "I-was-here" in text
    assert len(after) == 3 and all(v[0] == "ws" for v in after.values()), after
    assert near([w for *_, w, _ in after.values()]) and again.pane in after


def test_a_start_given_up_on_a_stopped_server_never_runs_later(box: Box) -> None:
    """The server gets the start's command once it runs again, after we gave up on it: the
    pane it then makes finds no launch file, so the program does not run behind our back."""
    backend = TmuxBackend(Exits(), socket_path=box.socket, state_dir=box.state, timeout=0.5)
    marker = box.root / "ran"

    async def scenario() -> BackendError:
        await backend.spawn(box.spec("first", "sleep", "30"), ("sleep", "30"), box.log("first"))
        server = int(box.tmux("display-message", "-p", "#{pid}"))
        os.kill(server, signal.SIGSTOP)
        try:
            with pytest.raises(BackendError) as err:
                await backend.spawn(box.spec("late", "touch", str(marker)),
                                    ("touch", str(marker)), box.log("late"))
        finally:
            os.kill(server, signal.SIGCONT)
        # one round trip: the server has handled what the timed-out client sent before it
        for _ in range(1500):
            late = [r for r in await backend.list_panes() if r.owner == "ws:late"]
            if all(r.dead for r in late):  # a late pane's wrapper found nothing and ended
                break
            await asyncio.sleep(0.01)
        return err.value

    err = run(scenario)
    assert "no answer within 0.5s" in str(err)
    assert not marker.exists()
    assert list((box.state / "panes" / "ws").glob("*.launch")) == []
