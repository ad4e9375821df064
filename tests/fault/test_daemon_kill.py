"""Issue 16.2: SIGKILL the daemon at random points of start, reload, shutdown and stop, on the
subprocess backend and on tmux (a real tmux server on the daemon's own socket); afterwards
every process runs exactly once (or stays stopped, after a stop), and `shutdown` leaves none
behind, nor a tmux server."""

from __future__ import annotations

import random
import signal
import subprocess
from collections.abc import Callable, Iterator

import pytest

from tests.fault.chaos import (
    Fleet,
    census,
    kill_when,
    live_count,
    pick,
    restart_and_settle,
    trials,
)
from tests.support import DaemonProcess, retry_until, script
from wezparallel.runtime.registry import tmux_socket

# (backend, processes, kills per phase in `make test`): tmux panes cost more to make, so its
# variant is smaller; `make chaos` gives both the same number of kills.
VARIANTS = [("subprocess", 24, 3), ("tmux", 24, 2)]


def tmux_server_alive(d: DaemonProcess) -> bool:
    return subprocess.run(["tmux", "-S", str(tmux_socket(d.state)), "list-sessions"],
                          capture_output=True, timeout=30).returncode == 0


@pytest.fixture
def killable(daemon_factory: Callable[..., DaemonProcess],
             request: pytest.FixtureRequest) -> Iterator[Callable[[Fleet], DaemonProcess]]:
    """A daemon for the fleet; on tmux its server is killed at the end whatever happened."""
    made: list[DaemonProcess] = []

    def make(fleet: Fleet) -> DaemonProcess:
        d = daemon_factory(fleet.conf(), watch=False, backend=fleet.backend)
        made.append(d)
        return d

    yield make
    for d in made:
        try:
            d.stop()
        finally:
            if d.backend == "tmux":  # before its socket goes with the directory: a test that
                # failed between a kill and a restart leaves the server running
                subprocess.run(["tmux", "-S", str(tmux_socket(d.state)), "kill-server"],
                               capture_output=True, timeout=30)
            d.cleanup()


def shutdown_and_count_orphans(d: DaemonProcess, fleet: Fleet) -> None:
    assert d.ctl("shutdown").returncode == 0, d.daemon_log()[-3000:]
    assert d.proc is not None
    d.proc.wait(60)
    assert census(fleet.mark) == {}, "orphans after shutdown"
    if fleet.backend == "tmux":
        assert not tmux_server_alive(d), "the daemon's tmux server outlived its shutdown"


def kill_mid(verb: list[str], d: DaemonProcess, fleet: Fleet, stopped: int) -> None:
    """Ask for a shutdown or stop and SIGKILL the daemon once `stopped` processes are gone."""
    with subprocess.Popen([script("wezparctl"), "--socket", str(d.socket), *verb],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as ctl:
        retry_until(lambda: live_count(fleet.mark) <= fleet.size - stopped, 60, 0.002,
                    f"{stopped} processes stopped")
        d.kill(signal.SIGKILL)
        ctl.wait(30)  # it loses its daemon mid-call


@pytest.mark.parametrize(("backend", "size", "default_kills"), VARIANTS,
                         ids=[v[0] for v in VARIANTS])
@pytest.mark.timeout(60 + 40 * trials(3))  # `make chaos` raises the number of trials
def test_a_daemon_killed_mid_start_reload_or_shutdown_loses_and_duplicates_nothing(
        killable: Callable[[Fleet], DaemonProcess], backend: str, size: int,
        default_kills: int) -> None:
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    fleet = Fleet(size, backend=backend)
    d = killable(fleet)
    kills = trials(default_kills)
    for _ in range(kills):  # killed while starting the fleet from scratch
        d.start(wait=False)
        kill_when(d, fleet, pick(rng, size))
        restart_and_settle(d, fleet)
        shutdown_and_count_orphans(d, fleet)
    d.start()
    retry_until(lambda: fleet.settled(d), 60, 0.1, "the first fleet")
    for _ in range(kills):  # killed while a reload replaces every process
        fleet.generation += 1
        fleet.write(d)
        assert d.ctl("reload").returncode == 0
        kill_when(d, fleet, pick(rng, size))
        restart_and_settle(d, fleet)
    for _ in range(kills):  # killed in the middle of a shutdown: the next daemon goes on
        kill_mid(["shutdown"], d, fleet, pick(rng, size))
        restart_and_settle(d, fleet)
    for _ in range(kills):  # killed while stopping them all: the user's stop holds
        kill_mid(["stop", "fault"], d, fleet, pick(rng, size))
        d.start()
        retry_until(lambda: not census(fleet.mark) and all(
            p["state"] == "STOPPED" for p in d.status()["processes"]), 60, 0.1,
            "every process stopped, none restarted")
        assert d.ctl("start", "fault").returncode == 0
        retry_until(lambda: fleet.settled(d), 60, 0.1, "the fleet started again")
    shutdown_and_count_orphans(d, fleet)
    print(f"\ndaemon kills on {backend} (seed {seed}): {kills} each mid-start, mid-reload, "
          f"mid-shutdown and mid-stop, {size} processes each; lost 0, duplicated 0, orphaned 0")
