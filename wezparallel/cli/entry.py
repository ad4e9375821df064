"""The `wezparallel` console script: defers TLS (tls.py) before the daemon imports asyncio.

Kept apart from cli/daemon.py because that module imports asyncio at its top, and so does
anything that imports it (tests, benchmarks): only the real entry point may defer `ssl`.
"""

from __future__ import annotations


def daemon() -> None:
    from wezparallel import tls

    tls.defer()
    from wezparallel.cli.daemon import main

    main()
