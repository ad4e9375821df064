"""Health probes: when to check (a pure tracker) and how (async checks), in `probes`."""
