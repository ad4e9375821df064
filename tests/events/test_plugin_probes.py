"""Plugin probe kinds: a check that raises or hangs is a failed check, never a daemon error."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from wezparallel.events.plugins import Plugins
from wezparallel.events.probes import with_plugin_kinds
from wezparallel.health.probes import ProbeInputs, ProbeResult
from wezparallel.spec.model import HealthProbe

RELEASE = threading.Event()


def _raises(options: dict[str, Any], context: dict[str, Any]) -> bool:
    raise ValueError(f"bad {options['x']}")


def _hangs(options: dict[str, Any], context: dict[str, Any]) -> bool:
    RELEASE.wait(10)
    return True


def _says(options: dict[str, Any], context: dict[str, Any]) -> tuple[bool, str]:
    return False, f"in {context['cwd']}"


async def _builtin(probe: HealthProbe, inputs: ProbeInputs) -> ProbeResult:
    return ProbeResult(True, "built in")


def test_plugin_checks_are_isolated_and_builtins_untouched() -> None:
    plugins = Plugins(probe_kinds={"raises": ("p", _raises), "hangs": ("p", _hangs),
                                   "says": ("p", _says)})
    asked: list[int] = []
    check = with_plugin_kinds(lambda: asked.append(1) or plugins, _builtin)
    inputs = ProbeInputs(cwd="/srv")

    async def run(kind: str, **kw: Any) -> ProbeResult:
        return await check(HealthProbe(kind=kind, **kw), inputs)

    async def scenario() -> list[ProbeResult]:
        try:
            return [await run("raises", options='{"x": 1}'), await run("hangs", timeout=0.2),
                    await run("says"), await run("tcp")]
        finally:
            RELEASE.set()  # the abandoned thread ends, so the loop can close

    assert asyncio.run(run("tcp")) == ProbeResult(True, "built in")
    assert asked == []  # a built-in kind never makes the daemon discover plugins
    raised, hung, said, builtin = asyncio.run(scenario())
    assert raised == ProbeResult(False, "plugin p raised ValueError: bad 1")
    assert hung == ProbeResult(False, "timed out after 0.2 s (plugin p)")
    assert said == ProbeResult(False, "in /srv")
    assert builtin == ProbeResult(True, "built in")
    assert asked  # a plugin's kind does, on its first check


def test_a_kind_no_plugin_provides_goes_to_the_builtin_check() -> None:
    check = with_plugin_kinds(Plugins, _builtin)
    assert asyncio.run(check(HealthProbe(kind="gone"), ProbeInputs())) == \
        ProbeResult(True, "built in")
