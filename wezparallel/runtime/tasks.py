"""One background task per running instance of a process, keyed by process id.

The health runner and the screen poller both follow instances this way: a new instance
replaces the old one's task, an exit cancels it, and a task checks `is_current` at each turn so
it ends by itself even when Python 3.11's `wait_for` swallowed its cancellation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

CLOSE_GRACE = 2.0  # seconds `close` waits for cancelled tasks to end


class InstanceTasks(dict[str, asyncio.Task[None]]):
    def start(self, pid: str, coro: Coroutine[Any, Any, None], name: str) -> None:
        self.cancel(pid)
        self[pid] = asyncio.get_running_loop().create_task(coro, name=name)

    def cancel(self, pid: str) -> None:
        task = self.pop(pid, None)
        if task is not None:
            task.cancel()

    def is_current(self, pid: str) -> bool:
        return self.get(pid) is asyncio.current_task()

    async def close(self) -> None:
        """Cancel every task and give them `CLOSE_GRACE` to end; never wait longer."""
        tasks = list(self.values())
        self.clear()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=CLOSE_GRACE)
