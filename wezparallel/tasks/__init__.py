"""Tasks for agents: the board's model, its SQLite store and the pure dispatch decision.

The runtime (`runtime.board`) applies what `dispatch` decides by sending prompts, and feeds back
hook events: a Stop of the session that received the task finishes it.
"""

STORE_FILE = "tasks.sqlite"
"""The board's file in the state dir (`tasks.store`); here so that the daemon can tell whether
a board was saved without importing the store."""
