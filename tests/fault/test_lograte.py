"""Issue 16.11: identical log lines beyond a burst are dropped and counted (fake clock)."""

from __future__ import annotations

import logging

from wezparallel.cli.lograte import RepeatLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def record(msg: str, *args: object, name: str = "asyncio") -> logging.LogRecord:
    return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, args, None)


def test_repeats_beyond_the_burst_are_dropped_then_counted() -> None:
    clock = Clock()
    limiter = RepeatLimiter(burst=3, window=60.0, clock=clock)
    passed = [limiter.filter(record("socket.accept() out of system resource"))
              for _ in range(1000)]
    assert passed.count(True) == 3 and passed[:3] == [True] * 3
    clock.now = 61.0
    summary = record("socket.accept() out of system resource")
    assert limiter.filter(summary)
    assert summary.getMessage() == ("socket.accept() out of system resource "
                                    "(and 997 more like it in 60 s, not logged)")


def test_different_lines_of_one_template_are_not_limited() -> None:
    limiter = RepeatLimiter(burst=2, window=60.0, clock=Clock())
    assert all(limiter.filter(record("start %s", f"w:p{i}", name="wezparallel"))
               for i in range(100))


def test_the_memory_of_lines_is_bounded() -> None:
    limiter = RepeatLimiter(burst=1, window=60.0, clock=Clock())
    for i in range(5000):
        limiter.filter(record(f"line {i}"))
    assert len(limiter._seen) <= 1001
