"""Reading request params with errors a client can show as they are."""

from __future__ import annotations

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
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise RemoteError("invalid_params", f"'{key}' must be a non-negative number")
    return float(value)


def string(params: dict[str, Any], key: str) -> str:
    value = params.get(key)
    if not isinstance(value, str) or not value:
        raise RemoteError("invalid_params", f"'{key}' must be a non-empty string")
    return value
