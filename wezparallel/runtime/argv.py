"""The argv a process runs: its command, or the Claude Code command line built for an agent."""

from __future__ import annotations

from wezparallel.spec.model import ProcessSpec


def argv_for(spec: ProcessSpec) -> tuple[str, ...]:
    if spec.claude is None:
        return spec.command
    from wezparallel.agents.claude import build_argv  # noqa: PLC0415 (agents are optional)

    return build_argv(spec)
