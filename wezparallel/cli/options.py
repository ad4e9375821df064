"""Option types shared by commands: durations written the way workspace files write them."""

from __future__ import annotations

import click

from wezparallel.spec.units import UnitError, parse_duration


class Duration(click.ParamType):  # type: ignore[type-arg]  # generic only from click 8.2
    """`250ms`, `2s`, `5m`, `1h`, or a plain number of seconds -> float seconds; anything else
    is a usage error (exit 2), before the daemon is asked."""

    name = "duration"

    def convert(self, value: object, param: click.Parameter | None,
                ctx: click.Context | None) -> float:
        if isinstance(value, float):
            return value
        try:
            return parse_duration(value)
        except UnitError:
            self.fail(f"{value!r} is not a duration; write 250ms, 2s, 5m, 1h or a number of "
                      "seconds", param, ctx)


DURATION = Duration()
