"""Claude Code agents: their command line, hooks, activity and git worktrees.

Deliberately free of imports: `python -m wezparallel.agents.report` runs on every tool use of
every agent, and importing this package is part of its start-up cost.
"""
