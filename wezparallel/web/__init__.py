"""The dashboard: a web adapter beside `ipc`, served by the daemon on loopback.

Its handlers call the same socket methods (`wezparallel.ipc.handlers`) as `wezparctl`, one place
per verb; the page is a view of the `subscribe` snapshot plus the events that follow it.
Only `server` and `session` import aiohttp, and only when the dashboard is on, so a daemon
started with `--no-dashboard` pays nothing for it.
"""
