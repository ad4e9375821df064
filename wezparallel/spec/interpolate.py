"""`${VAR}` interpolation and `env_file` parsing, the way Docker Compose users know them.

Supported forms: `$VAR`, `${VAR}` (empty when unset), `${VAR:-default}` (unset or empty),
`${VAR-default}` (unset only), `${VAR:?message}` / `${VAR?message}` (an error when unset), and
`$$` for a literal `$`. Values come from the environment passed in (the daemon's), never from
`os.environ` directly, so loading stays a pure function of its inputs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_TOKEN = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
    r"|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<invalid>\{))"
)
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class InterpolationError(ValueError):
    """A `${...}` that cannot be expanded; the loader locates it."""


def interpolate(text: str, environ: Mapping[str, str]) -> str:
    """Expand variables in `text` from `environ`."""

    def expand(match: re.Match[str]) -> str:
        if match.group("escaped"):
            return "$"
        if match.group("invalid"):
            raise InterpolationError(
                f"invalid interpolation in {text!r}: expected ${{NAME}}, ${{NAME:-default}} "
                "or $$ for a literal $"
            )
        name = match.group("bare") or match.group("name")
        value = environ.get(name)
        op, arg = match.group("op"), match.group("arg") or ""
        if op in ("-", ":-"):
            return value if value is not None and (value or op == "-") else arg
        if op in ("?", ":?") and (value is None or (op == ":?" and not value)):
            raise InterpolationError(arg or f"${{{name}}} is required but not set")
        return value or ""

    return _TOKEN.sub(expand, text)


def parse_env_file(text: str, environ: Mapping[str, str]) -> list[tuple[int, str, str]]:
    """Compose-style `KEY=VALUE` lines -> (line number, key, value).

    `#` starts a comment line; `export ` is allowed in front; 'single quotes' are literal,
    "double quotes" and unquoted values are interpolated. Raises InterpolationError whose
    message starts with the line number.
    """
    pairs = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not _KEY.match(key):
            raise InterpolationError(f"line {number}: expected KEY=VALUE, got {raw.strip()!r}")
        try:
            pairs.append((number, key, _env_value(value.strip(), environ)))
        except InterpolationError as exc:
            raise InterpolationError(f"line {number}: {exc}") from None
    return pairs


def _env_value(value: str, environ: Mapping[str, str]) -> str:
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1]
    if len(value) >= 2 and value[0] == value[-1] == '"':
        inner = value[1:-1].replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")
        return interpolate(inner, environ)
    if " #" in value:  # an unquoted value may end in a comment
        value = value.split(" #", 1)[0].rstrip()
    return interpolate(value, environ)
