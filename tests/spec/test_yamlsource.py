"""Positions, duplicate keys, tags and hostile YAML."""

from __future__ import annotations

import pytest

from wezparallel.errors import ConfigError
from wezparallel.spec.model import SourceRef
from wezparallel.spec.yamlsource import MAX_DEPTH, parse_document


def problem(raw: bytes):
    with pytest.raises(ConfigError) as info:
        parse_document(raw, "f.yaml")
    (only,) = info.value.problems
    return only.line, only.column, only.message


def test_positions_of_keys_and_values():
    doc = parse_document(b"a: 1\nb:\n  - x\n  - {c: [2, 3]}\n", "f.yaml")
    assert doc.data == {"a": 1, "b": ["x", {"c": [2, 3]}]}
    assert doc.where(("a",)) == SourceRef("f.yaml", 1, 4)
    assert doc.where(("a",), key=True) == SourceRef("f.yaml", 1, 1)
    assert doc.where(("b", 1, "c", 1)) == SourceRef("f.yaml", 4, 13)
    assert doc.where(("b", 1, "c"), key=True) == SourceRef("f.yaml", 4, 6)
    assert doc.where(("b", 7, "zz")) == SourceRef("f.yaml", 3, 3)  # nearest located parent


def test_scalars_follow_yaml_core_types_but_keys_and_dates_stay_text():
    doc = parse_document(b"1: yes\nnull: ~\nd: 2024-01-01\nh: 0x1f\nf: 1.5\ns: '3'\n", "f")
    assert doc.data == {"1": True, "null": None, "d": "2024-01-01", "h": 31, "f": 1.5, "s": "3"}


def test_merge_keys_explicit_keys_win_and_earlier_sources_win():
    doc = parse_document(b"a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\n"
                         b"c:\n  <<: [*a, *b]\n  x: 0\n", "f")
    assert doc.data["c"] == {"x": 0, "y": 1, "z": 2}


@pytest.mark.parametrize(("raw", "expected"), [
    (b"a: 1\nb: 2\na: 3\n", (3, 1, "duplicate key `a` (first defined at line 1)")),
    (b"a: {b: 1, b: 2}\n", (1, 11, "duplicate key `b` (first defined at line 1)")),
    (b"a: *nowhere\n", (1, 4, "alias *nowhere names no complete anchor (undefined, or it "
                            "refers to itself)")),
    (b"a: &x [*x]\n", (1, 8, "alias *x names no complete anchor (undefined, or it refers "
                           "to itself)")),
    (b"a: !!binary aGk=\n", (1, 4, "unsupported YAML tag !!binary")),
    (b"a: !custom {}\n", (1, 4, "unsupported YAML tag !custom")),
    (b"a: !!int nope\n", (1, 4, "cannot read 'nope' as tag:yaml.org,2002:int")),
    (b"a: .nan\n", (1, 4, ".nan is not a finite number")),
    (b"? [k]\n: v\n", (1, 3, "a mapping key must be a plain value, not a list or mapping")),
    (b"<<: 3\n", (1, 5, "`<<` merges mappings only")),
    (b"a: 1\n---\nb: 2\n", (2, 1, "a workspace file holds one YAML document; found a second "
                                "`---` here")),
    (b"a:\n\tb: 1\n", (2, 1, "YAML syntax error: found character that cannot start any "
                           "token (while scanning for the next token)")),
    (b"ok: 1\nbad: \x07\n", (2, 6, "unacceptable character #x0007: control characters are "
                                 "not allowed")),
    (b"a: 1\nb: caf\xe9\n", (2, 7, "not UTF-8 text (byte 0xe9)")),
])
def test_located_problems(raw, expected):
    assert problem(raw) == expected


def test_deep_nesting_is_refused_without_crashing_the_interpreter():
    # A megabyte of `[` makes libyaml's C composer overflow the C stack (SIGSEGV). Whether our
    # depth limit or PyYAML's own scanner limit (6.0.4 and later) speaks first is the library's
    # business; ours is that the file is refused at a location on its one line, in this process.
    line, column, message = problem(b"[" * (1 << 20))
    assert line == 1 and 1 <= column <= (1 << 20)
    assert "nest" in message


def test_nesting_past_our_limit_is_refused_at_the_level_that_passes_it():
    # Below any library limit, so this is our rule alone.
    line, column, message = problem(b"[" * (MAX_DEPTH + 10))
    assert (line, column) == (1, MAX_DEPTH + 1)
    assert message == f"nested more than {MAX_DEPTH} levels deep"


def test_alias_bomb_is_refused_quickly():
    lines = [b'a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    lines += [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 10)}]".encode() for i in range(1, 10)]
    line, _, message = problem(b"\n".join(lines))
    assert message.startswith("more than 100000 values after expanding aliases")
    assert line <= 10


def test_bom_and_utf16_are_read():
    assert parse_document(b"\xef\xbb\xbfa: 1\n", "f").data == {"a": 1}
    assert parse_document("a: é\n".encode("utf-16"), "f").data == {"a": "é"}


def test_empty_documents_are_none():
    assert parse_document(b"", "f").data is None
    assert parse_document(b"# only a comment\n", "f").data is None
