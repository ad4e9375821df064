"""Test-only plugins: one raises on every event, one sleeps 3 s on every event. Inert unless
WEZPARALLEL_MISBEHAVE is set, since the test installs them into the shared test venv."""

from __future__ import annotations

import os
import time
from types import SimpleNamespace
from typing import Any

import pluggy

hookimpl = pluggy.HookimplMarker("wezparallel")


@hookimpl
def _raise(event: dict[str, Any]) -> None:
    if os.environ.get("WEZPARALLEL_MISBEHAVE"):
        raise RuntimeError(f"misbehaving plugin refuses event {event['seq']}")


@hookimpl
def _sleep(event: dict[str, Any]) -> None:
    if os.environ.get("WEZPARALLEL_MISBEHAVE"):
        time.sleep(3)


raises = SimpleNamespace(wezparallel_event=_raise)
sleeps = SimpleNamespace(wezparallel_event=_sleep)
