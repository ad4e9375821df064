"""Pure decisions: process lifecycle, restart policy, and the reconcile planner.

No I/O and no clock reads: `now` is always handed in.
"""
