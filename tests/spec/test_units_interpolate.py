"""Durations, sizes, `${VAR}` interpolation and env files."""

from __future__ import annotations

import pytest

from wezparallel.spec import units
from wezparallel.spec.interpolate import InterpolationError, interpolate, parse_env_file
from wezparallel.spec.schema import schema


@pytest.mark.parametrize(("text", "seconds"), [
    ("250ms", 0.25), ("2s", 2.0), ("5m", 300.0), ("1h", 3600.0), ("1.5s", 1.5), ("10", 10.0),
    (3, 3.0), (0.5, 0.5), (0, 0.0), (" 2 s ", 2.0),
])
def test_durations(text, seconds):
    assert units.parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["1d", "-1s", "s", "", "1e3s", True, None, [1], -2, float("inf")])
def test_bad_durations(bad):
    with pytest.raises(units.UnitError):
        units.parse_duration(bad)


@pytest.mark.parametrize(("text", "size"), [
    ("512MB", 512 * 1000**2), ("2GiB", 2 * 1024**3), ("64k", 64000), ("1KiB", 1024),
    ("10", 10), (4096, 4096), ("1.5G", 1_500_000_000), ("3b", 3),
])
def test_sizes(text, size):
    assert units.parse_size(text) == size


@pytest.mark.parametrize("bad", ["lots", "1XB", "-1", 1.5, False, "MB"])
def test_bad_sizes(bad):
    with pytest.raises(units.UnitError):
        units.parse_size(bad)


def test_schema_patterns_are_the_units_patterns():
    defs = schema()["$defs"]
    assert defs["duration"]["pattern"] == units.DURATION_PATTERN
    assert defs["size"]["pattern"] == units.SIZE_PATTERN


ENV = {"SET": "value", "EMPTY": ""}


@pytest.mark.parametrize(("text", "out"), [
    ("${SET}", "value"), ("$SET/x", "value/x"), ("${UNSET}", ""), ("${UNSET:-d}", "d"),
    ("${EMPTY:-d}", "d"), ("${EMPTY-d}", ""), ("${UNSET-d}", "d"), ("$$SET", "$SET"),
    ("a $ b", "a $ b"), ("${SET:?never}", "value"), ("x${SET}y${UNSET:-z}", "xvalueyz"),
    # nesting, as Compose does: a default (or message) may itself hold variables
    ("${UNSET:-${SET}}", "value"), ("${UNSET:-a${SET}b}/c", "avalueb/c"),
    ("${UNSET:-${ALSO_UNSET:-deep}}", "deep"), ("${SET:-${UNSET:?not evaluated}}", "value"),
    ("${UNSET:-$$}", "$"), ("${UNSET:-$SET}", "value"), ("${SET:-x}}", "value}"),
])
def test_interpolation(text, out):
    assert interpolate(text, ENV) == out


@pytest.mark.parametrize(("text", "message"), [
    ("${UNSET:?please set it}", "please set it"),
    ("${EMPTY:?}", "${EMPTY} is required but not set"),
    ("${broken", "invalid interpolation"),
    ("${1X}", "invalid interpolation"),
    ("${UNSET:-${SET}", "invalid interpolation"),  # the outer one is never closed
    ("${UNSET:?need ${SET}}", "need value"),
    ("${UNSET:-" * 40 + "x" + "}" * 40, "nested more than 16 deep"),
])
def test_interpolation_errors(text, message):
    with pytest.raises(InterpolationError, match=message.replace("$", r"\$").replace("{", r"\{")
                       .replace("}", r"\}")):
        interpolate(text, ENV)


def test_env_file_forms():
    text = ("# comment\n\nexport A=1\nB = two words # note\nC='${SET}'\nD=\"x\\ny ${SET}\"\n"
            "E=${SET:-no}\nF=\n")
    assert parse_env_file(text, ENV) == [
        (3, "A", "1"), (4, "B", "two words"), (5, "C", "${SET}"), (6, "D", "x\ny value"),
        (7, "E", "value"), (8, "F", ""),
    ]


@pytest.mark.parametrize(("text", "message"), [
    ("A=1\nnot a pair\n", "line 2: expected KEY=VALUE"),
    ("1A=x\n", "line 1: expected KEY=VALUE"),
    ("A=${UNSET:?need A}\n", "line 1: need A"),
])
def test_env_file_errors(text, message):
    with pytest.raises(InterpolationError, match=message):
        parse_env_file(text, ENV)


@pytest.mark.parametrize(("seconds", "text"), [
    (0.25, "0.2s"), (0.3, "0.3s"), (2.0, "2s"), (2.5, "2.5s"), (45.4, "45s"), (60, "1m"),
    (90, "1m30s"), (3600, "1h"), (5400, "1h30m")])
def test_durations_in_messages_are_written_the_way_files_write_them(
        seconds: float, text: str) -> None:
    assert units.format_duration(seconds) == text
