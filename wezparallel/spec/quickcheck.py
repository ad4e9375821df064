"""A quick "is this document valid?" against the workspace schema, without jsonschema.

jsonschema is the reference: its errors, mapped to lines and columns, are what a user reads.
But it costs the daemon about 8 MB of memory and 60 ms to import (referencing, attrs, rpds),
for files that are nearly always valid. This module answers only yes, no, or "not sure"
(a keyword it does not know), and only for the keywords our own schema uses; `schema.check`
trusts a yes and asks jsonschema for everything else, so a mistake here can cost speed but
never a message. tests/spec/test_quickcheck.py holds the two to the same answers on every
fixture and on generated documents.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any

Verdict = bool | None  # None: not sure, ask jsonschema

# Keywords that only describe: they never change whether a document is valid.
_ANNOTATIONS = frozenset({"title", "description", "x-error", "$schema", "$id", "$defs",
                          "$comment", "default", "examples", "deprecated", "readOnly",
                          "writeOnly"})


class _Unsure(Exception):
    """A keyword or value this module does not judge."""


def is_valid(instance: object, schema: Mapping[str, Any]) -> Verdict:
    try:
        return _Checker(schema).valid(instance, schema)
    except _Unsure:
        return None


@functools.cache
def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(text)


def _is_integer(value: object) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_TYPES: dict[str, Callable[[object], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": _is_integer,
    "number": _is_number,
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def _equal(a: object, b: object) -> bool:
    """JSON equality: true is not 1, 1.0 is 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if a != b:
        return False
    return type(a) is type(b) or (_is_number(a) and _is_number(b))


class _Checker:
    def __init__(self, root: Mapping[str, Any]) -> None:
        self._root = root

    def valid(self, value: object, node: object) -> bool:
        if node is True:
            return True
        if node is False:
            return False
        if not isinstance(node, Mapping):
            raise _Unsure
        if not isinstance(value, dict | list | str | int | float | bool) and value is not None:
            raise _Unsure  # a YAML value JSON has no type for
        if isinstance(value, dict) and not all(isinstance(k, str) for k in value):
            raise _Unsure  # JSON keys are strings
        return all(self._keyword(key, arg, value, node) for key, arg in node.items()
                   if key not in _ANNOTATIONS)

    def _keyword(self, key: str, arg: Any, value: object, node: Mapping[str, Any]) -> bool:
        if key == "$ref":
            return self.valid(value, self._resolve(arg))
        if key == "type":
            kinds = [arg] if isinstance(arg, str) else arg
            if any(k not in _TYPES for k in kinds):
                raise _Unsure
            return any(_TYPES[k](value) for k in kinds)
        if key == "enum":
            return any(_equal(value, option) for option in arg)
        if key == "const":
            return _equal(value, arg)
        if key == "allOf":
            return all(self.valid(value, sub) for sub in arg)
        if key == "if":
            return not self.valid(value, arg) or self.valid(value, node.get("then", True))
        if key == "then":
            return True  # judged with its `if`
        if isinstance(value, str):
            return self._string(key, arg, value)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return self._number(key, arg, value)
        if isinstance(value, dict):
            return self._object(key, arg, value, node)
        if isinstance(value, list):
            return self._array(key, arg, value)
        return self._known(key)

    def _resolve(self, ref: object) -> object:
        if not isinstance(ref, str) or not ref.startswith("#/$defs/"):
            raise _Unsure
        defs = self._root.get("$defs", {})
        name = ref.removeprefix("#/$defs/")
        if name not in defs:
            raise _Unsure
        return defs[name]

    def _string(self, key: str, arg: Any, value: str) -> bool:
        if key == "minLength":
            return bool(len(value) >= arg)
        if key == "maxLength":
            return bool(len(value) <= arg)
        if key == "pattern":
            return _pattern(arg).search(value) is not None
        return self._known(key)

    def _number(self, key: str, arg: Any, value: float) -> bool:
        if key == "minimum":
            return bool(value >= arg)
        if key == "maximum":
            return bool(value <= arg)
        return self._known(key)

    def _object(self, key: str, arg: Any, value: dict[Any, Any],
                node: Mapping[str, Any]) -> bool:
        if key == "required":
            return all(k in value for k in arg)
        if key == "properties":
            return all(self.valid(value[k], sub) for k, sub in arg.items() if k in value)
        if key == "patternProperties":
            return all(self.valid(v, sub) for pattern, sub in arg.items()
                       for k, v in value.items() if _pattern(pattern).search(k))
        if key == "additionalProperties":
            named = node.get("properties", {})
            patterns = [_pattern(p) for p in node.get("patternProperties", {})]
            return all(self.valid(v, arg) for k, v in value.items()
                       if k not in named and not any(p.search(k) for p in patterns))
        if key == "propertyNames":
            return all(self.valid(k, arg) for k in value)
        return self._known(key)

    def _array(self, key: str, arg: Any, value: list[Any]) -> bool:
        if key == "items":
            return all(self.valid(item, arg) for item in value)
        if key == "minItems":
            return bool(len(value) >= arg)
        return self._known(key)

    @staticmethod
    def _known(key: str) -> bool:
        """A keyword for another type than the value's holds trivially, but only if it is
        one we know: an unknown keyword might constrain this value."""
        if key in _KNOWN:
            return True
        raise _Unsure


_KNOWN = frozenset({"minLength", "maxLength", "pattern", "minimum", "maximum", "required",
                    "properties", "patternProperties", "additionalProperties",
                    "propertyNames", "items", "minItems"})
