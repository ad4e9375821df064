"""The workspace JSON Schema: finding it, checking documents, and saying what is wrong.

The schema ships inside the package (`wezparallel/schemas/`), so an installed copy finds it
without a checkout. jsonschema's own messages are written for schema authors ("Additional
properties are not allowed ('restrat' was unexpected)"); here each error becomes one located
line for the person editing the file: the key at fault, what is expected, and a "did you mean"
when a known key is close. A schema node may carry `x-error`, the sentence to show when a value
fails it, so the schema stays the one place that knows what a valid value looks like.
"""

from __future__ import annotations

import difflib
import functools
import importlib.resources
import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from wezparallel.errors import Problem
from wezparallel.spec.yamlsource import Document, YamlPath

if TYPE_CHECKING:  # jsonschema costs 60 ms to import (referencing, attrs, rpds): only `check`
    # needs it, so a command that reads the schema text alone does not pay for it
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

_TYPE_NAMES = {"object": "a mapping", "array": "a list", "string": "a string",
               "integer": "an integer", "number": "a number", "boolean": "true or false",
               "null": "null"}
# Errors whose location is the key naming the value rather than the value itself.
_AT_KEY = {"required", "additionalProperties", "minProperties"}


@functools.cache
def schema_text() -> str:
    """The schema file's text, read from the installed package."""
    resource = importlib.resources.files("wezparallel") / "schemas" / "workspace.schema.json"
    return resource.read_text(encoding="utf-8")


@functools.cache
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(schema_text())
    return loaded


def _probe_kind(node: Mapping[str, Any]) -> dict[str, Any]:
    """The schema node of a health probe's `kind`: the one place plugins extend."""
    kind: dict[str, Any] = node["$defs"]["probe"]["properties"]["kind"]
    return kind


def with_probe_kinds(kinds: frozenset[str]) -> dict[str, Any]:
    """The schema with health probe kinds that plugins provide added to the built-in ones."""
    extended: dict[str, Any] = json.loads(schema_text())
    kind = _probe_kind(extended)
    kind["enum"] = [*kind["enum"], *sorted(kinds - set(kind["enum"]))]
    kind["x-error"] = f"must be one of {', '.join(kind['enum'])}"
    return extended


@functools.cache
def _validator(probe_kinds: frozenset[str] = frozenset()) -> Draft202012Validator:
    """Built once per set of plugin probe kinds, on the first check."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(with_probe_kinds(probe_kinds) if probe_kinds else schema())


def check(doc: Document, probe_kinds: frozenset[str] = frozenset()) -> list[Problem]:
    """Every schema problem of `doc`, each reduced to its real cause and located.
    `probe_kinds`: health probe kinds that plugins provide, valid besides the built-in ones."""
    return check_blamed(doc, probe_kinds)[0]


def check_blamed(doc: Document, probe_kinds: frozenset[str] = frozenset()
                 ) -> tuple[list[Problem], set[YamlPath], set[str]]:
    """The problems, and the paths of the values at fault (an unknown key's own path), so
    that the loader can still resolve the parts of the document nothing is wrong with; and
    the probe kinds named that are neither built in nor in `probe_kinds` (a plugin, not yet
    asked, may provide them)."""
    from jsonschema.exceptions import best_match

    problems: dict[tuple[int, int, str], Problem] = {}
    blamed: set[YamlPath] = set()
    unknown_kinds: set[str] = set()
    validator = _validator(probe_kinds)
    kind_node = _probe_kind(validator.schema) if isinstance(validator.schema, Mapping) else None
    for error in validator.iter_errors(doc.data):
        cause = best_match([error])
        blamed |= _blame(cause)
        if cause.validator == "enum" and cause.schema == kind_node \
                and isinstance(cause.instance, str):
            unknown_kinds.add(cause.instance)
        for problem in describe(cause, doc):
            problems.setdefault((problem.line, problem.column, problem.message), problem)
    return (sorted(problems.values(), key=lambda p: (p.line, p.column, p.message)), blamed,
            unknown_kinds)


def _blame(error: ValidationError) -> set[YamlPath]:
    path: YamlPath = tuple(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        node: Any = error.schema if isinstance(error.schema, dict) else {}
        known = node.get("properties", {})
        patterns = [re.compile(p) for p in node.get("patternProperties", {})]
        return {(*path, str(k)) for k in error.instance
                if k not in known and not any(p.search(str(k)) for p in patterns)}
    return {path}


def describe(error: ValidationError, doc: Document) -> list[Problem]:
    path: YamlPath = tuple(error.absolute_path)
    if error.validator == "additionalProperties":
        return _unknown_keys(error, path, doc)
    if "propertyNames" in error.relative_schema_path:
        key_path = (*path, str(error.instance))
        ref = doc.where(key_path, key=True)
        message = f"`{dotted(key_path)}`: {_custom(error) or error.message}"
        return [Problem(ref.file, ref.line, ref.column, message)]
    at_key = error.validator in _AT_KEY or isinstance(error.instance, dict | list) \
        or error.instance is None
    ref = doc.where(path, key=at_key)
    return [Problem(ref.file, ref.line, ref.column, _message(error, path))]


def _message(error: ValidationError, path: YamlPath) -> str:
    prefix = f"`{dotted(path)}`: " if path else ""
    validator, instance = error.validator, error.instance
    expected: Any = error.validator_value
    if validator == "required":
        missing = [k for k in expected if isinstance(instance, dict) and k not in instance]
        what = _custom(error) or f"missing required key `{missing[0] if missing else expected}`"
        return prefix + what
    custom = _custom(error)
    if custom:
        return f"{prefix}{custom} (got {show(instance)}){_closest(error)}"
    if validator == "type":
        kinds = [expected] if isinstance(expected, str) else list(expected)
        names = " or ".join(_TYPE_NAMES.get(k, k) for k in kinds)
        return f"{prefix}expected {names}, got {type_name(instance)}"
    if validator in ("minimum", "exclusiveMinimum"):
        return f"{prefix}must be at least {expected} (got {show(instance)})"
    if validator in ("maximum", "exclusiveMaximum"):
        return f"{prefix}must be at most {expected} (got {show(instance)})"
    if validator in ("minItems", "minLength", "minProperties"):
        return f"{prefix}must not be empty"
    if validator == "maxLength":
        return f"{prefix}must be at most {expected} characters long"
    if validator == "enum":
        return (f"{prefix}must be one of {', '.join(map(str, expected))} "
                f"(got {show(instance)}){_closest(error)}")
    return prefix + error.message


def _closest(error: ValidationError) -> str:
    """`; did you mean `acceptEdits`?` for an enum value that is close to a valid one (case
    and a slip of the keyboard aside)."""
    if error.validator != "enum" or not isinstance(error.instance, str):
        return ""
    values: Any = error.validator_value
    choices = {str(v).lower(): str(v) for v in values}
    close = difflib.get_close_matches(error.instance.lower(), list(choices), n=1, cutoff=0.6)
    return f"; did you mean `{choices[close[0]]}`?" if close else ""


def _unknown_keys(error: ValidationError, path: YamlPath, doc: Document) -> list[Problem]:
    node: Any = error.schema if isinstance(error.schema, dict) else {}
    known = sorted(node.get("properties", {}))
    patterns = [re.compile(p) for p in node.get("patternProperties", {})]
    instance = error.instance if isinstance(error.instance, dict) else {}
    problems = []
    for key in instance:
        if key in known or any(p.search(key) for p in patterns):
            continue
        ref = doc.where((*path, key), key=True)
        where = f" in `{dotted(path)}`" if path else ""
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hint = f"; did you mean `{close[0]}`?" if close else f" (known keys: {', '.join(known)})"
        message = f"unknown key `{key}`{where}{hint}"
        problems.append(Problem(ref.file, ref.line, ref.column, message))
    return problems


def _custom(first: ValidationError) -> str | None:
    error: Any = first
    while error is not None:
        if isinstance(error.schema, dict) and "x-error" in error.schema:
            return str(error.schema["x-error"])
        error = error.parent
    return None


def dotted(path: YamlPath) -> str:
    """`processes.web.health[0].kind`: how a path reads in messages."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    names = {dict: "a mapping", list: "a list", str: "a string", int: "an integer",
             float: "a number"}
    return names.get(type(value), type(value).__name__)


def show(value: object) -> str:
    """A short rendering of a YAML value for messages."""
    if isinstance(value, dict | list):
        return type_name(value)
    text = json.dumps(value) if isinstance(value, str | bool) or value is None else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
