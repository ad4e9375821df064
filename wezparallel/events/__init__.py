"""Events: what the daemon did or saw, numbered, journalled and fanned out.

`model` says what an event is and derives them by diffing statuses (pure); `bus` numbers them
and hands them to the journal, `subscribe` clients, `on:` hooks and plugins without ever making
the reconcile loop wait; `journal` keeps them in SQLite; `report` reads time tracking out of them.
"""
