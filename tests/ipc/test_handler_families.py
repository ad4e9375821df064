"""`FAMILIES`, the table that says which module serves each socket method, against the
modules themselves: a method added to a family but not to the table would be unknown to the
daemon, and one in the table under the wrong family would fail on its first call."""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
from pathlib import Path

import wezparallel.ipc.handlers as package
from wezparallel.ipc.handlers import FAMILIES, Handlers
from wezparallel.paths import Paths
from wezparallel.runtime.daemon import Daemon, DaemonSettings

HELPERS = {"params"}  # modules of the package that serve no method


def daemon(tmp_path: Path) -> Daemon:
    conf = tmp_path / "conf.d"
    conf.mkdir()
    paths = Paths.resolve(conf, tmp_path / "state", tmp_path / "wp.sock")
    return Daemon(DaemonSettings(paths, backend="subprocess", metrics=None))


def test_every_family_serves_exactly_the_methods_the_table_gives_it(tmp_path: Path) -> None:
    async def scenario() -> None:
        d = daemon(tmp_path)
        families = {m.name for m in pkgutil.iter_modules(package.__path__)} - HELPERS
        assert families == set(FAMILIES.values())
        for family in families:
            served = importlib.import_module(f"{package.__name__}.{family}").handlers(d)
            assert set(served) == {m for m, f in FAMILIES.items() if f == family}, family

    asyncio.run(scenario())


def test_a_lookup_builds_its_family_and_an_unknown_method_is_not_there(
        tmp_path: Path) -> None:
    async def scenario() -> None:
        handlers = Handlers(daemon(tmp_path))
        handlers.add("dashboard", ping_like)
        assert "status" in handlers and "dashboard" in handlers and "nope" not in handlers
        assert handlers.get("nope") is None
        assert await handlers["ping"]({}) == await handlers["ping"]({})
        assert (await handlers["ping"]({}))["pong"] is True
        assert handlers["dashboard"] is ping_like
        assert set(handlers) == {*FAMILIES, "dashboard"} and len(handlers) == len(FAMILIES) + 1

    asyncio.run(scenario())


async def ping_like(params: dict[str, object]) -> object:
    return {"pong": True}
