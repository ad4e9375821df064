"""Log files: rotation by copy-then-truncate, tail from the end, follow across rotations."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from wezparallel.backends.logfile import (
    LogFollower,
    backup_path,
    open_for_child,
    rotate,
    rotate_if_needed,
    tail,
)


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return tmp_path / "logs" / "ws" / "p.log"


@pytest.fixture
def child_fd(log: Path) -> Iterator[int]:
    """The descriptor a child would write through (O_APPEND), held across rotations."""
    fd = open_for_child(log)
    yield fd
    os.close(fd)


def write(fd: int, text: str) -> None:
    os.write(fd, text.encode())


def test_the_child_descriptor_is_private_and_appends(log: Path, child_fd: int) -> None:
    log.write_text("earlier run\n")
    write(child_fd, "now\n")
    assert log.read_text() == "earlier run\nnow\n"
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert stat.S_IMODE(log.parent.stat().st_mode) == 0o700
    assert os.get_inheritable(child_fd) is False


def test_rotation_keeps_n_files_and_the_writer_goes_on_at_offset_zero(
        log: Path, child_fd: int) -> None:
    for n in range(1, 6):
        write(child_fd, f"batch {n}\n" * 20)
        assert rotate_if_needed(log, max_bytes=100, files=3)
        assert log.stat().st_size == 0
    write(child_fd, "after\n")
    assert log.read_bytes() == b"after\n"  # no hole where the old content was
    assert backup_path(log, 1).read_text() == "batch 5\n" * 20
    assert backup_path(log, 2).read_text() == "batch 4\n" * 20
    assert sorted(p.name for p in log.parent.iterdir()) == ["p.log", "p.log.1", "p.log.2"]
    assert stat.S_IMODE(backup_path(log, 1).stat().st_mode) == 0o600


def test_rotation_waits_for_the_size_and_ignores_a_missing_file(
        log: Path, child_fd: int) -> None:
    write(child_fd, "x" * 99)
    assert not rotate_if_needed(log, max_bytes=100)
    assert not rotate_if_needed(log.with_name("absent.log"), max_bytes=1)
    write(child_fd, "x")
    assert rotate_if_needed(log, max_bytes=100)
    assert backup_path(log, 1).stat().st_size == 100


def test_one_file_means_truncate_only(log: Path, child_fd: int) -> None:
    write(child_fd, "old\n")
    rotate(log, files=1)
    assert log.read_text() == "" and not backup_path(log, 1).exists()


def test_tail_reads_the_last_lines(tmp_path: Path) -> None:
    path = tmp_path / "t.log"
    path.write_text("".join(f"line {i}\n" for i in range(100_000)))  # many 64 KiB blocks
    assert tail(path, 3) == ["line 99997", "line 99998", "line 99999"]
    assert tail(path, 20_000)[0] == "line 80000"
    assert tail(path, 0) == []
    path.write_text("a\nb\npartial")
    assert tail(path, 2) == ["b", "partial"]
    assert tail(path, 10) == ["a", "b", "partial"]
    path.write_text("")
    assert tail(path, 5) == []
    assert tail(tmp_path / "missing.log", 5) == []


def test_tail_reaches_into_the_newest_backup_after_a_rotation(
        log: Path, child_fd: int) -> None:
    write(child_fd, "one\ntwo\nthree\n")
    rotate(log)
    write(child_fd, "four\n")
    assert tail(log, 3) == ["two", "three", "four"]
    assert tail(log, 1) == ["four"]


def test_a_follower_sees_only_new_whole_lines(log: Path, child_fd: int) -> None:
    write(child_fd, "before\n")
    f = LogFollower(log)
    assert f.poll() == []
    write(child_fd, "one\ntw")
    assert f.poll() == ["one"]
    write(child_fd, "o\n")
    assert f.poll() == ["two"]
    f.close()


def test_a_follower_misses_nothing_across_rotations(log: Path, child_fd: int) -> None:
    f = LogFollower(log)
    write(child_fd, "a\n")
    assert f.poll() == ["a"]
    write(child_fd, "b\nc\n")  # not read yet when the rotation comes
    rotate(log)
    write(child_fd, "d\n")
    assert f.poll() == ["b", "c", "d"]
    write(child_fd, "e\n" * 3)  # grows past the old offset before the next rotation is seen
    rotate(log)
    write(child_fd, "f\n" * 5)
    assert f.poll() == ["e"] * 3 + ["f"] * 5
    f.close()


def test_a_follower_waits_for_the_file_and_reopens_a_replaced_one(tmp_path: Path) -> None:
    path = tmp_path / "late.log"
    f = LogFollower(path)
    assert f.poll() == []
    path.write_text("first\n")
    assert f.poll() == ["first"]
    replacement = tmp_path / "new.log"
    replacement.write_text("fresh\n")
    os.replace(replacement, path)
    assert f.poll() == ["fresh"]
    f.close()


def test_a_follower_misses_nothing_across_several_rotations_between_polls(
        log: Path, child_fd: int) -> None:
    f = LogFollower(log)
    write(child_fd, "a\n")
    assert f.poll() == ["a"]
    write(child_fd, "b\n")
    rotate(log)
    write(child_fd, "c\n")
    rotate(log)
    write(child_fd, "d\n")
    rotate(log)
    write(child_fd, "e\n")
    assert f.poll() == ["b", "c", "d", "e"]
    f.close()


def test_the_backlog_ends_where_the_follower_starts(log: Path, child_fd: int) -> None:
    write(child_fd, "one\ntwo\n")
    f = LogFollower(log)  # opened at the end: offset 8
    write(child_fd, "three\n")  # written after the follower, before the backlog is read
    assert tail(log, 10, end=f.pos) == ["one", "two"]
    assert f.poll() == ["three"]
    f.close()
