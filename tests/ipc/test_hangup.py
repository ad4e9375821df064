"""`unless_gone`: a waiting call dropped when its client hangs up, and nothing kept after it."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator

import pytest

from wezparallel.ipc.hangup import ClientGone, unless_gone


class Blob:
    """Stands for a request's params (up to 1 MiB)."""


@pytest.fixture
def no_cyclic_gc() -> Iterator[None]:
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def test_a_failed_call_keeps_no_reference_cycle_to_its_params(no_cyclic_gc: None) -> None:
    """Without `del running` the task kept the exception, whose traceback kept the frame that
    kept the task: the params lived until the cyclic collector ran (as in issue 16.12)."""
    async def fails(params: dict[str, Blob]) -> None:
        await asyncio.sleep(0)
        raise RuntimeError("no such agent")

    async def scenario() -> weakref.ref[Blob]:
        params = {"blob": Blob()}
        kept = weakref.ref(params["blob"])
        with pytest.raises(RuntimeError):
            await unless_gone(fails(params), asyncio.Event())
        del params
        return kept

    assert asyncio.run(scenario())() is None


def test_the_call_is_cancelled_when_the_client_is_gone() -> None:
    async def scenario() -> tuple[bool, bool]:
        gone, cancelled = asyncio.Event(), asyncio.Event()

        async def parked() -> None:
            try:
                await asyncio.Event().wait()
            finally:
                cancelled.set()

        asyncio.get_running_loop().call_later(0.01, gone.set)
        try:
            await unless_gone(parked(), gone)
        except ClientGone:
            return True, cancelled.is_set()
        return False, cancelled.is_set()

    assert asyncio.run(scenario()) == (True, True)
