"""Which WezTerm the backend talks to, and the stand-in behaving like WezTerm where the backend
depends on it: auto-start, clap conflicts, window size and split refusal, `list` order,
`get-text` rows, exit behaviour (tests/fakes/wezterm cites the WezTerm sources it follows)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.panes.conftest import Box, Exits
from tests.panes.test_wezterm import FAKE, SLEEP, argvs, make, spawn
from tests.support import retry_until
from tests.wezgui import FakeGui, start_gui
from wezparallel.backends.base import Handle
from wezparallel.backends.wezterm_gui import WezTermNotRunning
from wezparallel.errors import SpawnError
from wezparallel.spec.model import Layout, PaneSpec


@pytest.fixture
def bare(box: Box, monkeypatch: pytest.MonkeyPatch) -> Iterator[Box]:
    """No WezTerm running: a runtime dir of our own, nothing inherited."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(box.root / "run"))
    monkeypatch.setenv("FAKE_WEZTERM_LOG", str(box.root / "argv.log"))
    for var in ("WEZTERM_PANE", "WEZTERM_UNIX_SOCKET", "DISPLAY", "FAKE_WEZTERM_EXIT_BEHAVIOR"):
        monkeypatch.delenv(var, raising=False)
    (box.root / "run" / "wezterm").mkdir(parents=True)
    yield box
    subprocess.run(["tmux", "-S", str(hidden_mux(box)), "kill-server"], capture_output=True,
                   timeout=30)


def hidden_mux(box: Box) -> Path:
    return box.root / "run" / "wezterm" / "sock"


def fake(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(FAKE), *args], capture_output=True, text=True, timeout=30,
                          env=env)


def workspaces(backend: Any) -> set[str]:
    return {p.workspace for p in backend.list_panes()}


def window(gui: FakeGui, workspace: str) -> None:
    gui.tmux("new-session", "-d", "-x", "80", "-y", "24", "sleep 60", ";",
             "set-option", "@workspace", workspace)


# --- which WezTerm ---------------------------------------------------------------------------

def test_without_a_running_wezterm_a_call_fails_clearly_and_starts_nothing(bare: Box) -> None:
    backend = make(bare)
    with pytest.raises(WezTermNotRunning) as err:
        backend.list_panes()
    assert str(err.value).startswith(
        f"WezTerm is not running: no live gui-sock-* in {bare.root}/run/wezterm. Start WezTerm")
    assert not hidden_mux(bare).exists()
    assert ["wezterm-mux-server", "--daemonize"] not in argvs(bare)


def test_without_a_running_wezterm_nothing_is_adopted_and_the_daemon_goes_on(bare: Box) -> None:
    handle = Handle("ws:a", os.getpid(), "wezterm", None, "3")
    assert make(bare).adopt(handle) is False


def test_an_inherited_socket_of_a_gui_that_exited_is_not_used(
        bare: Box, monkeypatch: pytest.MonkeyPatch) -> None:
    gone = start_gui(bare.root / "run", bare.root / "gone.sock")
    gone.crash()
    monkeypatch.setenv("WEZTERM_UNIX_SOCKET", str(gone.sock))
    with pytest.raises(WezTermNotRunning, match=r"\$WEZTERM_UNIX_SOCKET .* does not answer; "
                                                r"no live gui-sock-\* in .* \(1 stale\)"):
        make(bare).list_panes()
    assert not hidden_mux(bare).exists()


def test_a_stale_gui_sock_is_skipped_for_the_live_one(bare: Box) -> None:
    live = start_gui(bare.root / "run", bare.socket)
    window(live, "live")
    time.sleep(0.01)  # the stale one must be the newer file, to be tried first
    stale = start_gui(bare.root / "run", bare.root / "stale.sock")
    window(stale, "stale")
    stale.crash()
    assert workspaces(make(bare)) == {"live"}


def test_the_gui_is_looked_for_again_once_it_is_gone(
        bare: Box, monkeypatch: pytest.MonkeyPatch) -> None:
    first = start_gui(bare.root / "run", bare.root / "first.sock")
    window(first, "first")
    monkeypatch.setenv("WEZTERM_UNIX_SOCKET", str(first.sock))  # a daemon started from it
    backend = make(bare)
    assert workspaces(backend) == {"first"}
    first.crash()
    second = start_gui(bare.root / "run", bare.socket)
    window(second, "second")
    assert workspaces(backend) == {"second"}
    assert all(a[:2] == ["cli", "--no-auto-start"] for a in argvs(bare)[1:])


# --- the stand-in's instance rules (wezterm-client/src/client.rs) ----------------------------

def test_stand_in_without_no_auto_start_starts_a_hidden_mux_server(bare: Box) -> None:
    done = fake("cli", "list", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
    assert ["wezterm-mux-server", "--daemonize"] in argvs(bare)
    assert hidden_mux(bare).exists()


def test_stand_in_with_no_auto_start_fails_to_connect(bare: Box) -> None:
    done = fake("cli", "--no-auto-start", "list", "--format", "json")
    assert done.returncode == 1
    assert f'failed to connect to Socket("{hidden_mux(bare)}")' in done.stderr
    assert not hidden_mux(bare).exists()


def test_stand_in_never_auto_starts_for_a_published_gui_that_died(bare: Box) -> None:
    start_gui(bare.root / "run", bare.root / "dead.sock").crash()
    done = fake("cli", "list", "--format", "json")
    assert done.returncode == 1 and "failed to connect" in done.stderr
    assert not hidden_mux(bare).exists()


# --- clap, sizes, order, rows ----------------------------------------------------------------

@pytest.fixture
def gui(bare: Box) -> FakeGui:
    return start_gui(bare.root / "run", bare.socket)


@pytest.mark.parametrize(("args", "says"), [
    (["spawn", "--workspace", "w", "--", "true"], "--new-window"),
    (["spawn", "--new-window", "--window-id", "0", "--", "true"], "cannot be used with"),
    (["spawn", "--workspace", "w", "--window-id", "0", "--", "true"], "cannot be used with"),
    (["split-pane", "--pane-id", "0", "--left", "--right"], "cannot be used with"),
    (["split-pane", "--pane-id", "0", "--cells", "3", "--percent", "5"], "cannot be used with"),
])
def test_stand_in_refuses_what_clap_refuses(gui: FakeGui, args: list[str], says: str) -> None:
    done = fake("cli", *args)
    assert done.returncode == 2 and says in done.stderr


def test_stand_in_windows_are_80x24_and_refuse_a_split_without_room(gui: FakeGui) -> None:
    pane = fake("cli", "spawn", "--new-window", "--", "sleep", "60").stdout.strip()
    sizes = []
    for _ in range(5):  # 24 rows: 12+11, 5+5, 2+2, then a 2-row pane has no room
        sizes.append(gui.tmux("display-message", "-p", "-t", f"%{pane}",
                              "#{pane_width}x#{pane_height}").strip())
        done = fake("cli", "split-pane", "--pane-id", pane, "--top", "--", "sleep", "60")
        if done.returncode != 0:
            break
    assert sizes == ["80x24", "80x11", "80x5", "80x2"]
    assert done.returncode == 1 and "No space for split!" in done.stderr


def test_stand_in_lists_windows_in_no_creation_order_and_panes_in_tree_order(
        gui: FakeGui) -> None:
    first = fake("cli", "spawn", "--new-window", "--", "sleep", "60").stdout.strip()
    left = fake("cli", "split-pane", "--pane-id", first, "--left", "--", "sleep", "60")
    second = fake("cli", "spawn", "--new-window", "--", "sleep", "60").stdout.strip()
    listed = [str(p["pane_id"]) for p in json.loads(fake("cli", "list", "--format",
                                                           "json").stdout)]
    assert listed == [second, left.stdout.strip(), first]


def test_stand_in_get_text_prints_one_line_per_screen_row(gui: FakeGui) -> None:
    pane = fake("cli", "spawn", "--new-window", "--", "sh", "-c",
                "printf '%0150d\\n' 0; sleep 60").stdout.strip()

    def screen() -> str | None:
        text = fake("cli", "get-text", "--pane-id", pane).stdout
        return text if "0" * 70 in text else None

    assert retry_until(screen, 10, 0.02, "the long line").splitlines()[:2] == \
        ["0" * 80, "0" * 70]


def test_stand_in_panes_know_their_pane_id_not_tmux(gui: FakeGui) -> None:
    pane = fake("cli", "spawn", "--new-window", "--", "sh", "-c",
                'echo "pane=$WEZTERM_PANE tmux=${TMUX:-none}"; sleep 60').stdout.strip()
    retry_until(lambda: f"pane={pane} tmux=none" in fake("cli", "get-text", "--pane-id",
                                                         pane).stdout, 10, 0.02, "the echo")


def test_stand_in_list_clients_names_the_gui_and_its_workspace(gui: FakeGui) -> None:
    gui.switch_workspace("api")
    clients = json.loads(fake("cli", "list-clients", "--format", "json").stdout)
    pid = clients[-1]["pid"]  # the calling client: the stand-in process itself
    assert pid not in (gui.pid, os.getpid())
    assert [(c["pid"], c["workspace"]) for c in clients] == [(gui.pid, "api"), (pid, "")]


# --- the backend in an 80x24 window ----------------------------------------------------------

def test_a_split_without_room_is_reported_as_such(bare: Box, gui: FakeGui) -> None:
    backend = make(bare)
    tall = PaneSpec(split="bottom", size="23")  # 24 rows: 23 + divider leaves nothing

    async def scenario() -> None:
        await spawn(backend, bare.spec("a", *SLEEP))
        await spawn(backend, bare.spec("b", *SLEEP, pane=tall))

    with pytest.raises(SpawnError) as err:
        asyncio.run(scenario())
    assert str(err.value).startswith(
        'ws:b: WezTerm refused to split pane 0 (80x24 cells) with --bottom --cells 23: '
        '"No space for split!". A new window is initial_cols x initial_rows (80x24')


def test_after_a_left_split_the_next_hinted_split_takes_the_newest_pane(
        bare: Box, gui: FakeGui) -> None:
    backend = make(bare)
    specs = [bare.spec("a", *SLEEP, layout=Layout.COLUMNS),
             bare.spec("b", *SLEEP, pane=PaneSpec(split="left")),
             bare.spec("c", *SLEEP, pane=PaneSpec(split="bottom"))]

    async def scenario() -> list[str]:
        return [str((await spawn(backend, s)).pane) for s in specs]

    a, b, c = asyncio.run(scenario())
    splits = [x for x in argvs(bare) if x[2:3] == ["split-pane"]]
    assert [x[4] for x in splits] == [a, b]  # c split b, the pane made just before it
    boxes = {p.pane_id: p.box for p in backend.list_panes()}
    assert boxes[c].left == boxes[b].left == 0 and boxes[c].top > boxes[b].top


def test_close_on_clean_exit_holds_a_failed_pane_and_a_restart_replaces_it(
        bare: Box, gui: FakeGui, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_WEZTERM_EXIT_BEHAVIOR", "CloseOnCleanExit")
    exits = Exits()
    backend = make(bare, exits)

    async def scenario() -> tuple[str, str, str]:
        await spawn(backend, bare.spec("keep", *SLEEP))
        ok = await spawn(backend, bare.spec("ok", "sh", "-c", "exit 0"))
        await exits.wait(ok)
        bad = await spawn(backend, bare.spec("bad", "sh", "-c", "exit 3"))
        assert (await exits.wait(bad)).code == 3
        again = await spawn(backend, bare.spec("bad", *SLEEP))
        await backend.close(leave_running=True)
        return str(ok.pane), str(bad.pane), str(again.pane)

    ok, bad, again = asyncio.run(scenario())
    live = [p.pane_id for p in make(bare).list_panes()]
    assert ok not in live and bad not in live and again in live
    assert [*("cli", "--no-auto-start"), "kill-pane", "--pane-id", bad] in argvs(bare)
    assert os.path.exists(gui.mux)
