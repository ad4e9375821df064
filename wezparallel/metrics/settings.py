"""Metrics settings, one frozen dataclass, and the duration syntax they and the CLI accept."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from wezparallel.errors import PermanentError

MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0
DB_NAME = "metrics.sqlite"

_UNITS = {"": 1.0, "s": 1.0, "m": MINUTE, "h": HOUR, "d": DAY, "w": 7 * DAY}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")


def parse_duration(text: str) -> float:
    """`90`, `90s`, `15m`, `1h`, `7d`, `1w` -> seconds; anything else is a clear error."""
    match = _DURATION.match(text.lower())
    if not match:
        raise PermanentError(
            f"invalid duration '{text}': use a number with s, m, h, d or w (e.g. 15m, 1h, 7d)")
    return float(match.group(1)) * _UNITS[match.group(2)]


@dataclass(frozen=True)
class MetricsSettings:
    """How often to sample and how long to keep what was sampled.

    Sampling is fast only while someone looks (`top`, `metrics`, a status with CPU columns):
    a pass over 100 process trees costs a few ms of CPU, which at 5 s is most of an idle
    daemon's CPU, and a minute is plenty for history nobody is watching."""

    interval: float = 5.0  # seconds between passes while someone is looking
    idle_interval: float = 60.0  # seconds between passes while nobody is
    watch_grace: float = 30.0  # seconds a look keeps the fast interval going
    raw_retention: float = DAY  # seconds raw samples are kept (24 h)
    aggregate_retention: float = 7 * DAY  # seconds one-minute aggregates are kept (7 d)
    db_path: Path | None = None  # SQLite file; None: <state dir>/metrics.sqlite
    raw_query_span: float = 2 * HOUR  # series up to this long are answered from raw samples
    prune_every: float = MINUTE  # seconds between deletions of expired rows
    busy_timeout: float = 0.5  # seconds a write waits for a lock before history gives up

    def __post_init__(self) -> None:
        for name in ("interval", "idle_interval", "raw_retention", "aggregate_retention",
                     "raw_query_span"):
            if getattr(self, name) <= 0:
                raise PermanentError(f"metrics {name} must be positive, got {getattr(self, name)}")

    def next_pass(self, last_pass: float, now: float, watched_until: float) -> float:
        """When the pass after `last_pass` is due (monotonic seconds): the fast interval while
        a look is recent, else the idle one; never slower than the fast one."""
        step = self.interval if now < watched_until else max(self.interval, self.idle_interval)
        return last_pass + step

    def database(self, state_dir: Path) -> Path:
        """Where history lives: the configured file, else one in the state dir."""
        return self.db_path if self.db_path is not None else state_dir / DB_NAME
