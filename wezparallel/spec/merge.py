"""Deep merge of YAML data, for `NAME.local.yaml` overlays and a file's `defaults:`.

Mappings merge key by key; anything else (lists, scalars) in the overlay replaces the base
value whole, the way Compose and Helm users expect. Positions follow the values: a merged value
points into the file that supplied it, so a problem in an overlay is reported in the overlay.
"""

from __future__ import annotations

from typing import Any

from wezparallel.spec.yamlsource import Document, YamlPath

_MISSING = object()


def deep_merge(base: object, over: object) -> object:
    if isinstance(base, dict) and isinstance(over, dict):
        merged = dict(base)
        for key, value in over.items():
            merged[key] = deep_merge(base[key], value) if key in base else value
        return merged
    return over


def lookup(data: object, path: YamlPath) -> object:
    """The value at `path`, or `_MISSING`."""
    for part in path:
        in_dict = isinstance(data, dict) and isinstance(part, str) and part in data
        in_list = isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)
        if not (in_dict or in_list):
            return _MISSING
        data = data[part]  # type: ignore[index]
    return data


def has_path(data: object, path: YamlPath) -> bool:
    return lookup(data, path) is not _MISSING


def overlay_documents(base: Document, over: Document) -> Document:
    """`over` deep-merged onto `base`; positions come from whichever file holds each value."""
    values = dict(base.values)
    keys = dict(base.keys)
    for table, source in ((values, over.values), (keys, over.keys)):
        for path, ref in source.items():
            if not _both_mappings(base.data, over.data, path):
                table[path] = ref
    return Document(base.file, deep_merge(base.data, over.data), values, keys)


def _both_mappings(base: Any, over: Any, path: YamlPath) -> bool:
    return isinstance(lookup(base, path), dict) and isinstance(lookup(over, path), dict)
