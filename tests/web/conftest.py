from __future__ import annotations

from tests.engine.conftest import daemon_factory
from tests.web.kit import browser, page_for

__all__ = ["browser", "daemon_factory", "page_for"]
