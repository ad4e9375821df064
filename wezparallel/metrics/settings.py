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
    """How often to sample and how long to keep what was sampled."""

    interval: float = 5.0  # seconds between sampler passes
    raw_retention: float = DAY  # seconds raw samples are kept (24 h)
    aggregate_retention: float = 7 * DAY  # seconds one-minute aggregates are kept (7 d)
    db_path: Path | None = None  # SQLite file; None: <state dir>/metrics.sqlite
    raw_query_span: float = 2 * HOUR  # series up to this long are answered from raw samples
    prune_every: float = MINUTE  # seconds between deletions of expired rows
    busy_timeout: float = 0.5  # seconds a write waits for a lock before history gives up

    def __post_init__(self) -> None:
        for name in ("interval", "raw_retention", "aggregate_retention", "raw_query_span"):
            if getattr(self, name) <= 0:
                raise PermanentError(f"metrics {name} must be positive, got {getattr(self, name)}")

    def database(self, state_dir: Path) -> Path:
        """Where history lives: the configured file, else one in the state dir."""
        return self.db_path if self.db_path is not None else state_dir / DB_NAME
