"""Reading request params with errors a client can show as they are."""

from __future__ import annotations

import math
from typing import Any

from wezparallel.errors import RemoteError


def ids(params: dict[str, Any]) -> list[str]:
    value = params.get("ids")
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise RemoteError("invalid_params", "'ids' must be a non-empty list of process ids")
    return value


def number(params: dict[str, Any], key: str, default: float) -> float:
    value = params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 \
            or not math.isfinite(value):
        raise RemoteError("invalid_params", f"'{key}' must be a finite non-negative number")
    return float(value)


def count(params: dict[str, Any], key: str, default: int, limit: int = 1_000_000) -> int:
    """A whole number of things (lines), capped so a request cannot ask for unbounded work."""
    return int(min(number(params, key, default), limit))


def optional_strings(params: dict[str, Any], key: str) -> list[str] | None:
    """An optional list of strings; absent, null or empty is None."""
    value = params.get(key)
    if not value:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RemoteError("invalid_params", f"'{key}' must be a list of strings")
    return value


def string(params: dict[str, Any], key: str) -> str:
    value = params.get(key)
    if not isinstance(value, str) or not value:
        raise RemoteError("invalid_params", f"'{key}' must be a non-empty string")
    return value
