"""Health probe kinds that plugins provide, run the way a built-in probe is: same schedule,
same verdicts, same actions. The plugin's check runs in a worker thread bounded by the probe's
`timeout`; an exception or a timeout is a failed check with the reason, never a daemon error.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable

from wezparallel.events.plugins import BUILTIN_PROBE_KINDS, Plugins
from wezparallel.health.probes import ProbeInputs, ProbeResult
from wezparallel.spec.model import HealthProbe

log = logging.getLogger(__name__)

Check = Callable[[HealthProbe, ProbeInputs], Awaitable[ProbeResult]]


def with_plugin_kinds(plugins: Callable[[], Plugins], builtin: Check) -> Check:
    """`builtin` for the built-in kinds, the plugin's check for the others; `plugins` is
    asked (the daemon discovers them then, if it has not yet) only for a kind not built in."""

    async def check(probe: HealthProbe, inputs: ProbeInputs) -> ProbeResult:
        if probe.kind in BUILTIN_PROBE_KINDS:
            return await builtin(probe, inputs)
        found = plugins().probe_kinds.get(probe.kind)
        if found is None:
            return await builtin(probe, inputs)
        name, run = found
        context = {"cwd": inputs.cwd, "env": dict(inputs.env or {}), "now": inputs.now}
        try:
            result = await asyncio.wait_for(
                asyncio.to_thread(run, json.loads(probe.options), context), probe.timeout)
        except TimeoutError:
            return ProbeResult(False, f"timed out after {probe.timeout:g} s (plugin {name})")
        except Exception as exc:
            log.warning("plugin %s: %s probe raised %s: %s", name, probe.kind,
                        type(exc).__name__, exc)
            return ProbeResult(False, f"plugin {name} raised {type(exc).__name__}: {exc}")
        if isinstance(result, tuple):
            ok, reason = bool(result[0]), str(result[1]) if len(result) > 1 else ""
            return ProbeResult(ok, reason)
        return ProbeResult(bool(result), "" if result else f"{probe.kind} check failed")

    return check
