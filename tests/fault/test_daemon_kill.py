"""Issue 16.2: SIGKILL the daemon at random points of start and reload (subprocess backend);
afterwards every process runs exactly once, and `shutdown` leaves none behind."""

from __future__ import annotations

import random

from tests.fault.chaos import Fleet, census, kill_when, pick, restart_and_settle, trials
from tests.support import retry_until

SIZE = 24


def test_a_daemon_killed_mid_start_or_mid_reload_loses_and_duplicates_nothing(
        daemon_factory) -> None:
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    fleet = Fleet(SIZE)
    d = daemon_factory(fleet.conf(), watch=False)
    kills = trials(3)
    for _ in range(kills):  # killed while starting the fleet from scratch
        d.start(wait=False)
        kill_when(d, fleet, pick(rng, SIZE))
        restart_and_settle(d, fleet)
        assert d.ctl("shutdown").returncode == 0, d.daemon_log()
        d.proc.wait(60)  # type: ignore[union-attr]
        assert census(fleet.mark) == {}, f"seed {seed}: orphans after shutdown"
    d.start()
    retry_until(lambda: fleet.settled(d), 60, 0.1, "the first fleet")
    for _ in range(kills):  # killed while a reload replaces every process
        fleet.generation += 1
        fleet.write(d)
        assert d.ctl("reload").returncode == 0
        kill_when(d, fleet, pick(rng, SIZE))
        restart_and_settle(d, fleet)
    assert d.ctl("shutdown").returncode == 0
    d.proc.wait(60)  # type: ignore[union-attr]
    assert census(fleet.mark) == {}, f"seed {seed}: orphans after shutdown"
