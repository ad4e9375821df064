"""The Claude Code command line for a `claude:` block.

Choices checked against `claude --help` of @anthropic-ai/claude-code 2.1.197:

- `--add-dir`, `--allowedTools`, `--disallowedTools` and `--mcp-config` are variadic: they swallow
  every following word that does not start with `-`. The prompt therefore comes last, after a
  `--`, so it can neither be eaten as one more directory nor be read as an option when it
  starts with `-`.
- Even after `--`, a first word equal to a subcommand name (`mcp`, `doctor`, `update`...) runs
  that subcommand instead of a session; such a one-word prompt gets a trailing space.
- Every session is named: a new one starts with `--session-id UUID` (an id the runtime chose
  and keeps), and `resume: auto` comes back to exactly that one with `--resume UUID`, which then
  replaces the prompt (sending the first message again would repeat it in the resumed
  conversation). Never `--continue`: it opens the newest conversation *of the directory*, so two
  agents sharing a directory would take each other's.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass

from wezparallel.errors import SpawnError
from wezparallel.spec.model import ClaudeSpec, ProcessSpec

BINARY_ENV = "CLAUDE_CODE_BINARY"
INSTALL_HINT = (
    "install Claude Code with `npm install -g @anthropic-ai/claude-code`, "
    f"or set `claude.binary` (or ${BINARY_ENV}) to its path"
)
PERMISSION_MODES = frozenset(
    {"default", "acceptEdits", "plan", "bypassPermissions", "auto", "dontAsk"}
)
# Subcommands of the pinned CLI; a prompt that is exactly one of them would run it.
SUBCOMMANDS = frozenset({
    "agents", "auth", "auto-mode", "doctor", "gateway", "install", "mcp", "plugin", "plugins",
    "project", "setup-token", "ultrareview", "update", "upgrade", "help",
})


@dataclass(frozen=True)
class ClaudeContext:
    """What the runtime knows that the spec does not.

    `resume_session`: the id of this agent's earlier conversation in this cwd, which
    `resume: auto` resumes. `new_session`: the id a fresh session starts with otherwise.
    `settings_file`: the generated hooks file (`wezparallel.agents.hooks.write_settings`).
    """

    resume_session: str | None = None
    new_session: str | None = None
    settings_file: str | None = None


def resolve_binary(claude: ClaudeSpec, environ: Mapping[str, str] | None = None) -> str:
    """`claude.binary`, else $CLAUDE_CODE_BINARY, else `claude` on PATH; an absolute path.

    Raises SpawnError (permanent: the process goes FATAL instead of crash-looping).
    """
    env = os.environ if environ is None else environ
    wanted = claude.binary or env.get(BINARY_ENV) or "claude"
    source = ("claude.binary" if claude.binary
              else f"${BINARY_ENV}" if env.get(BINARY_ENV) else "PATH")
    found = shutil.which(wanted, path=env.get("PATH", os.defpath))
    if found is None:
        raise SpawnError(
            f"Claude Code not found: {wanted!r} (from {source}) is not an executable; "
            + INSTALL_HINT
        )
    return os.path.abspath(found)


def resumes(claude: ClaudeSpec, context: ClaudeContext) -> bool:
    return claude.resume == "auto" and context.resume_session is not None


def sends_prompt(claude: ClaudeSpec, context: ClaudeContext) -> bool:
    """Whether the session starts with a first message (the activity tracker then expects
    a turn right after SessionStart, instead of reporting idle in between)."""
    return bool(claude.prompt) and not resumes(claude, context)


def claude_argv(claude: ClaudeSpec, binary: str, context: ClaudeContext) -> tuple[str, ...]:
    """The full argv; pure, so it can be shown by `plan` and pinned by tests."""
    argv: list[str] = [binary]
    if claude.model:
        argv += ["--model", claude.model]
    if claude.permission_mode:
        if claude.permission_mode not in PERMISSION_MODES:
            raise SpawnError(
                f"claude.permission_mode {claude.permission_mode!r} is not one of "
                + ", ".join(sorted(PERMISSION_MODES))
            )
        argv += ["--permission-mode", claude.permission_mode]
    if claude.allowed_tools:
        argv += ["--allowedTools", *claude.allowed_tools]
    if claude.disallowed_tools:
        argv += ["--disallowedTools", *claude.disallowed_tools]
    if claude.append_system_prompt:
        argv += ["--append-system-prompt", claude.append_system_prompt]
    if claude.add_dirs:
        argv += ["--add-dir", *claude.add_dirs]
    if claude.mcp_config:
        argv += ["--mcp-config", claude.mcp_config]
    if context.settings_file and claude.hooks:
        argv += ["--settings", context.settings_file]
    if resumes(claude, context):
        argv += ["--resume", context.resume_session or ""]
    elif context.new_session:
        argv += ["--session-id", context.new_session]
    argv += claude.args
    if sends_prompt(claude, context):
        argv += ["--", _safe_prompt(claude.prompt or "")]
    return tuple(argv)


def _safe_prompt(prompt: str) -> str:
    return prompt + " " if prompt.strip() in SUBCOMMANDS else prompt


def build_argv(spec: ProcessSpec, context: ClaudeContext | None = None,
               environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The argv for an agent process; `environ` defaults to the process's own PATH over ours."""
    if spec.claude is None:
        raise SpawnError(f"{spec.id}: not a claude process")
    env = dict(os.environ)
    env.update(spec.env_dict)
    if environ is not None:
        env = dict(environ)
    binary = resolve_binary(spec.claude, env)
    return claude_argv(spec.claude, binary, context or ClaudeContext())
