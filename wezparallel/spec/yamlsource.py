"""Safe YAML with the position of every key and value, and limits on hostile input.

We build values from libyaml's *event* stream with an explicit stack instead of calling
`yaml.compose`/`yaml.safe_load`: libyaml's C composer recurses per nesting level and crashes the
interpreter (SIGSEGV, measured with PyYAML 6.0.3) on a megabyte of `[`, and the safe loader
silently keeps the last of two duplicate keys. Here nesting depth, the number of values after
alias expansion (the "billion laughs" bomb) and the file size are bounded, duplicate keys are
errors, and every failure is a located `ConfigError`.
"""

from __future__ import annotations

import codecs
import math
import os
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from wezparallel.errors import ConfigError, Problem
from wezparallel.spec.model import SourceRef

MAX_BYTES = 1 << 20  # a workspace file is a page or two; 1 MiB is generous
MAX_DEPTH = 64  # nesting levels of mappings and lists
MAX_VALUES = 100_000  # values after expanding aliases

YamlPath = tuple[str | int, ...]

_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_RESOLVER: Any = yaml.resolver.Resolver()
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_CONTAINER_TAGS = {None, "!", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}


@dataclass(frozen=True)
class Document:
    """A parsed file: plain data plus where each value and each key starts."""

    file: str
    data: object
    values: Mapping[YamlPath, SourceRef] = field(default_factory=dict)
    keys: Mapping[YamlPath, SourceRef] = field(default_factory=dict)

    def where(self, path: YamlPath, key: bool = False) -> SourceRef:
        """The position of `path` (its key when `key`), else of its nearest located parent."""
        if key and path in self.keys:
            return self.keys[path]
        if path in self.values:
            return self.values[path]
        while path:
            path = path[:-1]
            if path in self.values:
                return self.values[path]
        return SourceRef(self.file, 1, 1)


def read_document(path: Path, file: str) -> Document:
    """Read and parse one file; a missing, unreadable, odd or oversized file is a problem."""
    return parse_document(read_limited(path, file), file)


def read_limited(path: Path, file: str) -> bytes:
    """The bytes of a regular file no larger than MAX_BYTES (never blocks on a FIFO)."""
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise _fail(file, 1, 1, "is a directory, not a workspace file")
        if not stat.S_ISREG(info.st_mode):
            raise _fail(file, 1, 1, "is not a regular file")
        if info.st_size > MAX_BYTES:
            raise _fail(file, 1, 1, f"file is too large ({info.st_size} bytes; the limit is "
                        f"{MAX_BYTES} bytes)")
        with open(path, "rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise _fail(file, 1, 1, f"cannot read file: {exc.strerror or exc}") from None
    if len(raw) > MAX_BYTES:
        raise _fail(file, 1, 1, f"file is too large (over {MAX_BYTES} bytes)")
    return raw


def parse_document(raw: bytes, file: str) -> Document:
    text = _decode(raw, file)
    try:
        root = _Composer(file).compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        detail = exc.problem or "invalid YAML"
        context = f" ({exc.context})" if exc.context and exc.problem else ""
        raise _fail(file, line, col, f"YAML syntax error: {detail}{context}") from None
    except yaml.reader.ReaderError as exc:
        line, col = _line_col(text, exc.position)
        char = exc.character
        code = ord(char) if isinstance(char, str) else char
        shown = f"#x{code:04x}" if isinstance(code, int) else repr(code)
        raise _fail(file, line, col, f"unacceptable character {shown}: {exc.reason}") from None
    except yaml.YAMLError as exc:
        raise _fail(file, 1, 1, f"YAML error: {exc}") from None
    converter = _Converter(file)
    data = None if root is None else converter.convert(root, (), 0)
    return Document(file, data, converter.values, converter.keys)


def _decode(raw: bytes, file: str) -> str:
    encoding = "utf-16" if raw[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) else "utf-8-sig"
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        col = exc.start - (before.rfind(b"\n") + 1) + 1
        bad = raw[exc.start: exc.start + 1].hex()
        raise _fail(file, line, col, f"not UTF-8 text (byte 0x{bad})") from None


def _line_col(text: str, position: int) -> tuple[int, int]:
    before = text[:position]
    return before.count("\n") + 1, position - (before.rfind("\n") + 1) + 1


def _fail(file: str, line: int, col: int, message: str) -> ConfigError:
    return ConfigError([Problem(file, line, col, message)])


@dataclass
class _Node:
    kind: str  # scalar | seq | map
    ref: SourceRef
    value: object = None  # a scalar's value
    text: str = ""  # a scalar's source text (mapping keys use it verbatim)
    tag: str | None = None
    items: list[_Node] = field(default_factory=list)  # map: key, value, key, value...


class _Composer:
    """Events -> a light node graph, iteratively; anchors are registered when complete."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.anchors: dict[str, _Node] = {}

    def ref(self, event: yaml.Event) -> SourceRef:
        mark = event.start_mark
        if mark is None:  # pragma: no cover - libyaml marks every event
            return SourceRef(self.file, 1, 1)
        return SourceRef(self.file, mark.line + 1, mark.column + 1)

    def compose(self, text: str) -> _Node | None:
        stack: list[tuple[_Node, str | None]] = []
        root: list[_Node] = []
        documents = 0
        for event in _events(text):
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise self.error(event, "a workspace file holds one YAML document; "
                                     "found a second `---` here")
            elif isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                if event.tag not in _CONTAINER_TAGS:
                    raise self.error(event, f"unsupported YAML tag {_short(event.tag)}")
                if len(stack) >= MAX_DEPTH:
                    raise self.error(event, f"nested more than {MAX_DEPTH} levels deep")
                kind = "map" if isinstance(event, yaml.MappingStartEvent) else "seq"
                stack.append((_Node(kind, self.ref(event)), event.anchor))
            elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                node, anchor = stack.pop()
                self.attach(node, anchor, stack, root)
            elif isinstance(event, yaml.ScalarEvent):
                self.attach(self.scalar(event), event.anchor, stack, root)
            elif isinstance(event, yaml.AliasEvent):
                target = self.anchors.get(event.anchor or "")
                if target is None:
                    raise self.error(event, f"alias *{event.anchor} names no complete anchor "
                                     "(undefined, or it refers to itself)")
                self.attach(target, None, stack, root)
        return root[0] if root else None

    def attach(self, node: _Node, anchor: str | None, stack: list[tuple[_Node, str | None]],
               root: list[_Node]) -> None:
        if anchor is not None:
            self.anchors[anchor] = node
        if stack:
            stack[-1][0].items.append(node)
        else:
            root.append(node)

    def scalar(self, event: yaml.ScalarEvent) -> _Node:
        tag = event.tag
        if tag is None:
            tag = _RESOLVER.resolve(yaml.ScalarNode, event.value, event.implicit)
        elif tag == "!":
            tag = _STR
        node = _Node("scalar", self.ref(event), text=event.value, tag=tag)
        node.value = self.construct(event, tag)
        return node

    def construct(self, event: yaml.ScalarEvent, tag: str) -> object:
        if tag in (_STR, _MERGE, "tag:yaml.org,2002:timestamp"):
            return event.value  # dates stay text: `prompt: 2024-01-01` means the string
        if tag == "tag:yaml.org,2002:null":
            return None
        node = yaml.ScalarNode(tag, event.value)
        try:
            if tag == "tag:yaml.org,2002:bool":
                return _CONSTRUCTOR.construct_yaml_bool(node)
            if tag == "tag:yaml.org,2002:int":
                return _CONSTRUCTOR.construct_yaml_int(node)
            if tag == "tag:yaml.org,2002:float":
                number = _CONSTRUCTOR.construct_yaml_float(node)
                if not math.isfinite(number):
                    raise self.error(event, f"{event.value} is not a finite number")
                return number
        except (ValueError, KeyError, OverflowError):
            raise self.error(event, f"cannot read {event.value!r} as {tag}") from None
        raise self.error(event, f"unsupported YAML tag {_short(tag)}")

    def error(self, event: yaml.Event, message: str) -> ConfigError:
        ref = self.ref(event)
        return _fail(self.file, ref.line, ref.column, message)


def _short(tag: str | None) -> str:
    return str(tag).replace("tag:yaml.org,2002:", "!!")


def _events(text: str) -> Iterator[yaml.Event]:
    loader = yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader
    return yaml.parse(text, Loader=loader)


class _Converter:
    """Nodes -> plain data, recording positions per path; aliases expand within a budget."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.values: dict[YamlPath, SourceRef] = {}
        self.keys: dict[YamlPath, SourceRef] = {}
        self.budget = MAX_VALUES

    def convert(self, node: _Node, path: YamlPath, depth: int) -> object:
        self.budget -= 1
        if self.budget < 0:
            raise _fail(self.file, node.ref.line, node.ref.column,
                        f"more than {MAX_VALUES} values after expanding aliases "
                        "(an alias bomb?)")
        if depth > 3 * MAX_DEPTH:
            raise _fail(self.file, node.ref.line, node.ref.column,
                        "aliases nest too deeply")
        self.values[path] = node.ref
        if node.kind == "scalar":
            return node.value
        if node.kind == "seq":
            return [self.convert(child, (*path, i), depth + 1)
                    for i, child in enumerate(node.items)]
        return self.mapping(node, path, depth)

    def mapping(self, node: _Node, path: YamlPath, depth: int) -> dict[str, object]:
        result: dict[str, object] = {}
        pairs = list(zip(node.items[::2], node.items[1::2], strict=True))
        for key, value in pairs:
            if key.kind == "scalar" and key.tag == _MERGE:
                self.merge(result, value, path, depth)
        explicit: dict[str, SourceRef] = {}
        for key, value in pairs:
            if key.kind != "scalar":
                raise _fail(self.file, key.ref.line, key.ref.column,
                            "a mapping key must be a plain value, not a list or mapping")
            if key.tag == _MERGE:
                continue
            if key.text in explicit:
                first = explicit[key.text]
                raise _fail(self.file, key.ref.line, key.ref.column,
                            f"duplicate key `{key.text}` (first defined at line {first.line})")
            explicit[key.text] = key.ref
            self.keys[(*path, key.text)] = key.ref
            result[key.text] = self.convert(value, (*path, key.text), depth + 1)
        return result

    def merge(self, result: dict[str, object], source: _Node, path: YamlPath,
              depth: int) -> None:
        """`<<: *base` or `<<: [*a, *b]`: keys not yet present are taken, earlier wins."""
        sources = source.items if source.kind == "seq" else [source]
        for item in sources:
            if item.kind != "map":
                raise _fail(self.file, item.ref.line, item.ref.column,
                            "`<<` merges mappings only")
            for key, value in zip(item.items[::2], item.items[1::2], strict=True):
                if key.kind == "scalar" and key.tag != _MERGE and key.text not in result:
                    self.keys[(*path, key.text)] = key.ref
                    result[key.text] = self.convert(value, (*path, key.text), depth + 1)
