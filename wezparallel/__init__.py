"""wezparallel: run many Claude Code agents and the dev servers beside them, supervised, in panes.

Kept free of imports so that `wezparctl` starts fast: the client must not pay for jsonschema,
watchdog or psutil just to print a status table.
"""

__version__ = "0.1.0"
