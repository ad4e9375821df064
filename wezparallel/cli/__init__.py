"""Command-line entry points: `wezparctl` (control) and `wezparallel` (the daemon)."""
