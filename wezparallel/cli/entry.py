"""The `wezparallel` command: the cyclic garbage collector goes off before the daemon's first
import, not after it.

Importing the daemon (asyncio, click, our modules) makes tens of thousands of objects that
live as long as the process, and the collector would walk them some 35 times on the way
(about 5 ms). `cli.daemon.resume_collecting` freezes them and turns collection back on once
the first starts settled. This module exists only so that the switch comes first; it is the
console script's entry point, and importing `cli.daemon` elsewhere changes nothing.
"""

import gc

gc.disable()

from wezparallel.cli.daemon import main  # noqa: E402  (after the switch, on purpose)

__all__ = ["main"]
