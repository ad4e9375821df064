"""The start journal beside the state file (issue 16.2): what a daemon killed mid-pass wrote."""

from __future__ import annotations

from pathlib import Path

from wezparallel.backends.base import Handle
from wezparallel.clock import FakeClock
from wezparallel.plan.lifecycle import ProcessStatus, State
from wezparallel.runtime.persist import Persistence, fingerprint
from wezparallel.spec.model import ProcessSpec

A = ProcessSpec(workspace="w", name="a", command=("sleep", "1"))
B = ProcessSpec(workspace="w", name="b", command=("sleep", "2"))


def saved_with_a(path: Path) -> Persistence:
    clock = FakeClock()
    clock.advance(100)
    p = Persistence(path, clock)
    st = ProcessStatus(id="w:a", state=State.RUNNING, wanted=False, restarts=3, spec=A, pid=7,
                       started_at=50.0, since=60.0, health="healthy")
    p.save({"w:a": st}, {"w:a": Handle("w:a", 7, "subprocess", 1.0)})
    return p


def test_starts_after_the_last_save_are_replayed_over_it(tmp_path: Path) -> None:
    p = saved_with_a(tmp_path / "state.json")
    p.spawning(A, "t1")
    p.spawned(A, Handle("w:a", 8, "subprocess", 2.0))
    p.spawning(B, "t2")
    p.spawned(B, Handle("w:b", 9, "subprocess", 3.0))
    p.spawning(B, "t3")  # killed between fork and record: only the mark finds it
    # a new daemon reads what the killed one left
    fresh = Persistence(tmp_path / "state.json")
    records = fresh.load()
    a, b = records["w:a"], records["w:b"]
    assert (a.handle, a.wanted, a.restarts) == (Handle("w:a", 8, "subprocess", 2.0), False, 3)
    assert (a.started_wall, a.health) == (None, "unknown")  # the saved ones were the old pid's
    assert (b.handle, b.wanted, b.fingerprint) == (Handle("w:b", 9, "subprocess", 3.0), True,
                                                   fingerprint(B))
    assert fresh.spawn_fingerprints() == {"t1": fingerprint(A), "t2": fingerprint(B),
                                          "t3": fingerprint(B)}


def test_a_save_empties_the_journal_and_a_torn_line_is_skipped(tmp_path: Path) -> None:
    p = saved_with_a(tmp_path / "state.json")
    p.spawned(B, Handle("w:b", 9, "subprocess", 3.0))
    journal = tmp_path / "state.journal"
    with journal.open("ab") as f:
        f.write(b'{"op": "spawned", "id": "w:c", "hand')  # the daemon died mid-write
    after = Persistence(tmp_path / "state.json")
    assert set(after.load()) == {"w:a", "w:b"}
    after.spawned(A, Handle("w:a", 10, "subprocess", 4.0))  # the next daemon appends
    assert after.load()["w:a"].handle == Handle("w:a", 10, "subprocess", 4.0)
    after.close()
    p.save({}, {})
    assert journal.read_bytes() == b""
    assert Persistence(tmp_path / "state.json").load() == {}
