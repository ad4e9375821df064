from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.support import DaemonProcess


@pytest.fixture
def daemon_factory() -> Iterator[Callable[..., DaemonProcess]]:
    """Start real daemons; every one is stopped and its directory removed afterwards."""
    made: list[DaemonProcess] = []

    def make(conf: dict[str, str] | None = None, **kwargs: object) -> DaemonProcess:
        d = DaemonProcess(conf, **kwargs)  # type: ignore[arg-type]
        made.append(d)
        return d

    yield make
    for d in made:
        d.cleanup()
