from __future__ import annotations

from tests.web.kit import browser, page_for

__all__ = ["browser", "page_for"]
