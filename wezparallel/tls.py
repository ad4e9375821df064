"""TLS for the daemon only when something needs it.

asyncio imports `ssl` at start-up, and `ssl` brings OpenSSL: about 5 MB of resident memory
for a daemon that speaks TLS only if a health probe checks an `https://` URL. The daemon's
entry point calls `defer()` before anything imports asyncio, which then starts as it does on
a Python built without ssl; `load()` imports the real module the first time an https probe
runs. asyncio itself keeps believing there is no ssl, so the probe does its TLS on a plain
socket in a worker thread (health/probes.py) rather than through asyncio's streams.
tests/engine/test_tls.py runs real https probes in daemons started this way.
"""

from __future__ import annotations

import sys
from types import ModuleType


def defer() -> bool:
    """Keep `ssl` from loading until `load()`; False when it is too late (already loaded)."""
    if "ssl" in sys.modules or "asyncio" in sys.modules:
        return False
    sys.modules["ssl"] = None  # type: ignore[assignment]
    return True


def load() -> ModuleType:
    """The `ssl` module, loaded now if it was deferred."""
    if "ssl" in sys.modules and sys.modules["ssl"] is None:
        del sys.modules["ssl"]
    import ssl

    return ssl
