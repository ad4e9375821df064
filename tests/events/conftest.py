from __future__ import annotations

from tests.engine.conftest import daemon_factory

__all__ = ["daemon_factory"]
