"""`${VAR}` interpolation and `env_file` parsing, the way Docker Compose users know them.

Supported forms: `$VAR`, `${VAR}` (empty when unset), `${VAR:-default}` (unset or empty),
`${VAR-default}` (unset only), `${VAR:?message}` / `${VAR?message}` (an error when unset), and
`$$` for a literal `$`; a default or message may hold variables itself (`${A:-${B}}`). Values
come from the environment passed in (the daemon's), never from `os.environ` directly, so
loading stays a pure function of its inputs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_OPS = (":-", ":?", "-", "?")
MAX_NESTING = 16  # `${A:-${B:-...}}` levels: plenty for fallbacks, and no deep recursion


class InterpolationError(ValueError):
    """A `${...}` that cannot be expanded; the loader locates it."""


def interpolate(text: str, environ: Mapping[str, str]) -> str:
    """Expand variables in `text` from `environ`. A default or message may itself hold
    variables (`${A:-${B}}`, as in Compose); it is expanded only when it is used."""
    return _expand(text, environ, text, 0)


def _expand(text: str, environ: Mapping[str, str], whole: str, depth: int) -> str:
    if depth > MAX_NESTING:
        raise InterpolationError(f"invalid interpolation in {whole!r}: variables nested more "
                                 f"than {MAX_NESTING} deep")
    out = []
    i = 0
    while (j := text.find("$", i)) >= 0:
        out.append(text[i:j])
        value, i = _one(text, j, environ, whole, depth)
        out.append(value)
    out.append(text[i:])
    return "".join(out)


def _one(text: str, j: int, environ: Mapping[str, str], whole: str,
         depth: int) -> tuple[str, int]:
    """The expansion of the `$` at `j`, and where the text goes on after it."""
    if text.startswith("$$", j):
        return "$", j + 2
    if not text.startswith("${", j):
        bare = _NAME.match(text, j + 1)
        return (environ.get(bare.group(), ""), bare.end()) if bare else ("$", j + 1)
    name = _NAME.match(text, j + 2)
    if name is None:
        raise _invalid(whole)
    k = name.end()
    value = environ.get(name.group())
    if text.startswith("}", k):
        return value or "", k + 1
    op = next((o for o in _OPS if text.startswith(o, k)), None)
    if op is None:
        raise _invalid(whole)
    end = _closing(text, k + len(op), whole)
    arg = text[k + len(op):end]
    if op in ("-", ":-"):
        if value is not None and (value or op == "-"):
            return value, end + 1
        return _expand(arg, environ, whole, depth + 1), end + 1
    if value is None or (op == ":?" and not value):
        message = _expand(arg, environ, whole, depth + 1)
        raise InterpolationError(message or f"${{{name.group()}}} is required but not set")
    return value, end + 1


def _closing(text: str, start: int, whole: str) -> int:
    """The `}` closing a `${` whose argument starts at `start`, skipping nested ones."""
    depth = 0
    i = start
    while i < len(text):
        if text.startswith("$$", i):
            i += 2
            continue
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            if depth == 0:
                return i
            depth -= 1
        i += 1
    raise _invalid(whole)


def _invalid(whole: str) -> InterpolationError:
    return InterpolationError(f"invalid interpolation in {whole!r}: expected ${{NAME}}, "
                              "${NAME:-default} or $$ for a literal $")


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
