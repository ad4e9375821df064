"""Runs the Lua specs (lua/spec/*_spec.lua) with busted under Lua 5.4 for `make test`."""

from __future__ import annotations

from tests.lua.busted import run_busted


def test_lua_specs_pass() -> None:
    run_busted([])
