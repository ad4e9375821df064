"""Telling that a client has gone, and dropping the calls that were only waiting for it.

A killed `wezparctl wait` used to keep its connection, one of the server's client slots and its
file descriptor until the wait's own timeout (300 s by default), so a loop of
`timeout 1 wezparctl wait ...` could lock everyone out with `busy` (issue 16's closing note).

The end of the read side is not enough to tell: a client may shut down its write side after its
request (`shutdown(SHUT_WR)`, `nc -N`, socat) and still read the answer. Linux tells the two
apart: a peer that closed its end makes the socket report EPOLLHUP, a half-close only
EPOLLRDHUP. So one epoll set, each connection registered in it for nothing but that hang-up,
watches them all and sits in the event loop as a single file descriptor. Where there is no
epoll, the end of the read side counts as a hang-up, as it always did for streams.

Only a call that merely waits is dropped on a hang-up: its handler says so with
`cancel_on_hangup` (today `wait`; streams end by themselves, in the server). Anything that changes
something (start, stop, restart, reload, send, the task board, worktree removal) runs to its end
even when nobody reads the answer: cut short, `send` could leave a prompt pasted but not
submitted (and the prompt typist is shared with the task board), `task_merge` a merge half
done, and git in a worker thread cannot be cancelled anyway. A handler opts in, rather than
calls being cancelled unless they opt out, so a new method that changes something is safe by
default.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
from collections.abc import Awaitable, Callable
from typing import Any

Handler = Callable[[dict[str, Any]], Awaitable[Any]]


class ClientGone(ConnectionError):
    """The client hung up while a call that only waited for it was running."""


class _CancelOnHangup:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler

    def __call__(self, params: dict[str, Any]) -> Awaitable[Any]:
        return self.handler(params)


def cancel_on_hangup(handler: Handler) -> Handler:
    """Mark a handler whose call only waits (and changes nothing), so it is cancelled, and its
    client's slot freed, as soon as the client hangs up."""
    return _CancelOnHangup(handler)


def cancels_on_hangup(handler: Handler) -> bool:
    return isinstance(handler, _CancelOnHangup)


async def unless_gone(call: Awaitable[Any], gone: asyncio.Event) -> Any:
    """The call's result, or ClientGone once `gone` is set (the call is then cancelled)."""
    running = asyncio.ensure_future(call)
    hangup = asyncio.ensure_future(gone.wait())
    try:
        await asyncio.wait((running, hangup), return_when=asyncio.FIRST_COMPLETED)
    finally:
        hangup.cancel()
        running.cancel()  # nothing if it is done
        await asyncio.wait((running,))  # let it clean up before the connection closes
    if running.cancelled():
        raise ClientGone("the client hung up")
    try:
        return running.result()
    finally:
        # the task keeps a failed handler's exception, whose traceback holds this frame: no
        # reference cycle through it (and the params it holds, issue 16.12)
        del running, call


class HangupWatch:
    """Sets a connection's `gone` event when its peer closes the socket (not on a half-close)."""

    def __init__(self) -> None:
        self._epoll: select.epoll | None = None
        self._gone: dict[int, asyncio.Event] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        if hasattr(select, "epoll"):
            self._epoll = select.epoll()
            self._loop = asyncio.get_running_loop()
            self._loop.add_reader(self._epoll.fileno(), self._fire)

    def watch(self, fd: int, gone: asyncio.Event) -> bool:
        """Whether the hang-up of `fd` will be seen (else the caller takes EOF for one)."""
        if self._epoll is None or self._loop is None:
            return False
        try:
            self._epoll.register(fd, 0)  # no events asked for: EPOLLHUP and EPOLLERR only
        except OSError:
            return False
        self._gone[fd] = gone
        return True

    def forget(self, fd: int, gone: asyncio.Event) -> None:
        """Stop watching; a no-op when the number already belongs to a newer connection."""
        if self._epoll is not None and self._gone.get(fd) is gone:
            del self._gone[fd]
            with contextlib.suppress(OSError):
                self._epoll.unregister(fd)

    def close(self) -> None:
        if self._epoll is not None:
            if self._loop is not None:
                self._loop.remove_reader(self._epoll.fileno())
            self._epoll.close()
            self._epoll = None
        self._gone.clear()

    def _fire(self) -> None:
        assert self._epoll is not None
        for fd, _events in self._epoll.poll(0):
            gone = self._gone.get(fd)
            if gone is None:  # a closed socket's number: nothing to tell
                with contextlib.suppress(OSError):
                    self._epoll.unregister(fd)
                continue
            self.forget(fd, gone)
            gone.set()
