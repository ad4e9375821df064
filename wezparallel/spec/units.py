"""Durations and sizes as people write them in workspace files.

The schema's `pattern`s for durations and sizes are built from the regexes here, so what the
schema accepts and what the loader can convert never drift apart.
"""

from __future__ import annotations

import math
import re

DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
SIZE_UNITS = {
    "": 1, "b": 1,
    "k": 1000, "kb": 1000, "m": 1000**2, "mb": 1000**2, "g": 1000**3, "gb": 1000**3,
    "t": 1000**4, "tb": 1000**4,
    "ki": 1024, "kib": 1024, "mi": 1024**2, "mib": 1024**2, "gi": 1024**3, "gib": 1024**3,
    "ti": 1024**4, "tib": 1024**4,
}
# Anchored, for the schema too (JSON Schema `pattern` is not anchored by itself).
DURATION_PATTERN = r"^\s*[0-9]+(\.[0-9]+)?\s*(ms|s|m|h)?\s*$"
SIZE_PATTERN = r"^\s*[0-9]+(\.[0-9]+)?\s*([kKmMgGtT][iI]?[bB]?|[bB])?\s*$"

_DURATION = re.compile(DURATION_PATTERN)
_SIZE = re.compile(SIZE_PATTERN)
_NUMBER_AND_UNIT = re.compile(r"^\s*([0-9.]+)\s*([A-Za-z]*)\s*$")


class UnitError(ValueError):
    """A value that is not a duration or size; the loader turns it into a located problem."""


def parse_duration(value: object) -> float:
    """`250ms`, `2s`, `5m`, `1h`, `1.5s` or a plain number of seconds -> float seconds."""
    if isinstance(value, bool):
        raise UnitError(f"expected a duration, got {value!r}")
    if isinstance(value, int | float):
        return _finite_non_negative(float(value), value)
    if isinstance(value, str) and _DURATION.match(value):
        number, unit = _split(value)
        return _finite_non_negative(number * DURATION_UNITS[unit or "s"], value)
    raise UnitError(f"expected a duration like 250ms, 2s, 5m, 1h or seconds, got {value!r}")


def parse_size(value: object) -> int:
    """`512MB`, `2GiB`, `64k` or a plain number of bytes -> int bytes (KB = 1000, KiB = 1024)."""
    if isinstance(value, bool):
        raise UnitError(f"expected a size, got {value!r}")
    if isinstance(value, int):
        return int(_finite_non_negative(float(value), value))
    if isinstance(value, str) and _SIZE.match(value):
        number, unit = _split(value)
        return int(_finite_non_negative(number * SIZE_UNITS[unit.lower()], value))
    raise UnitError(f"expected a size like 512MB, 2GiB or bytes, got {value!r}")


def _split(text: str) -> tuple[float, str]:
    match = _NUMBER_AND_UNIT.match(text)
    if match is None:  # pragma: no cover - guarded by the stricter patterns above
        raise UnitError(f"cannot read {text!r}")
    return float(match.group(1)), match.group(2)


def _finite_non_negative(number: float, original: object) -> float:
    if not math.isfinite(number) or number < 0:
        raise UnitError(f"expected a finite, non-negative amount, got {original!r}")
    return number


def format_duration(seconds: float) -> str:
    """Seconds for a message, in the units people write: `0.3s`, `2.5s`, `45s`, `1m`,
    `1m30s`, `2h`."""
    if seconds < 10:
        return f"{round(seconds, 1):g}s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        minutes, secs = divmod(whole, 60)
        return f"{minutes}m{secs}s" if secs else f"{minutes}m"
    hours, rest = divmod(whole, 3600)
    return f"{hours}h{rest // 60}m" if rest // 60 else f"{hours}h"
