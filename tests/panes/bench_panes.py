"""Pane backend figures (a benchmark, never a pass/fail test):
`.venv/bin/python -m tests.panes.bench_panes`.

Anchors from issue 5: an 8-process workspace up in tmux in under 1 s; send and capture round
trips under 100 ms; plus what the pane wrapper adds to every start.
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from tests.panes.conftest import Box, Exits
from tests.support import short_tmpdir
from wezparallel.backends.tmux import TmuxBackend
from wezparallel.backends.wrapper import PANEWRAP
from wezparallel.spec.model import Layout

LOOP = "while read l; do echo \"got: $l\"; done"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


async def workspace_up(box: Box, n: int = 8) -> tuple[float, float]:
    """(all spawns returned, all programs running under their wrappers)."""
    backend = TmuxBackend(Exits(), socket_path=box.socket, state_dir=box.state)
    t0 = time.perf_counter()
    handles = [await backend.spawn(box.spec(f"p{i}", "sh", "-c", LOOP, layout=Layout.TILED),
                                   ("sh", "-c", LOOP), box.log(f"p{i}")) for i in range(n)]
    spawned = time.perf_counter() - t0
    while any(backend.child_pid(h) is None for h in handles):
        await asyncio.sleep(0.001)
    running = time.perf_counter() - t0
    await round_trips(backend, handles)
    await backend.close(leave_running=True)
    return spawned, running


async def round_trips(backend: TmuxBackend, handles: list, rounds: int = 20) -> None:  # type: ignore[type-arg]
    sends, trips, captures = [], [], []
    for i in range(rounds):
        h = handles[i % len(handles)]
        t0 = time.perf_counter()
        await backend.paste([h], f"ping{i}", bracket=False)
        await backend.press_enter([h])
        sends.append(time.perf_counter() - t0)
        while True:
            t1 = time.perf_counter()
            text = await backend.capture(h, 20)
            captures.append(time.perf_counter() - t1)
            if f"got: ping{i}" in text:
                break
        trips.append(time.perf_counter() - t0)
    print(f"send (paste, then Enter)      median {ms(statistics.median(sends))}")
    print(f"capture (one tmux call)       median {ms(statistics.median(captures))}")
    print(f"send -> echoed in capture     median {ms(statistics.median(trips))}  "
          f"max {ms(max(trips))}   (anchor: 100 ms)")


def wrapper_overhead(rounds: int = 20) -> None:
    status = Path(short_tmpdir("wpb-")) / "s.json"
    bare, wrapped = [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        subprocess.run(["true"], check=True)
        bare.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-I", "-S", str(PANEWRAP), "--status-file", str(status),
                        "--", "true"], check=True)
        wrapped.append(time.perf_counter() - t0)
    shutil.rmtree(status.parent)
    extra = statistics.median(wrapped) - statistics.median(bare)
    print(f"wrapper start+exit overhead   median {ms(extra)}  "
          f"(`true` alone {ms(statistics.median(bare))})")


def main() -> None:
    box = Box(short_tmpdir("wpb-"))
    try:
        spawned, running = asyncio.run(workspace_up(box))
        print(f"8 panes created (tmux)        {ms(spawned)}")
        print(f"8 programs running in them    {ms(running)}   (anchor: 1000 ms)")
    finally:
        subprocess.run(["tmux", "-S", str(box.socket), "kill-server"], capture_output=True)
        shutil.rmtree(box.root, ignore_errors=True)
    wrapper_overhead()


if __name__ == "__main__":
    main()
