"""The daemon's moving parts: the reconcile loop, config reloads, persisted runtime state."""
