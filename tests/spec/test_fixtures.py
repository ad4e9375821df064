"""Fixture folders become test cases by themselves (check-jsonschema's acceptance layout).

valid/ is loaded as one conf dir (its files refer to each other) and must have no problem;
each file or folder in invalid/ must produce exactly the lines of the `.expected` beside it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.spec.fixtures import (
    ENVIRON,
    INVALID,
    VALID,
    expected_path,
    invalid_cases,
    load_case,
    render,
)
from wezparallel.spec.loader import load_conf_dir

VALID_FILES = sorted(p.name for p in VALID.glob("*.y*ml") if ".local." not in p.name)


@pytest.fixture(scope="module")
def valid_result():
    return load_conf_dir(VALID, ENVIRON)


def test_valid_folder_has_no_problem(valid_result):
    assert [str(p) for p in valid_result.problems] == []


@pytest.mark.parametrize("name", VALID_FILES)
def test_valid_file_loads_to_a_workspace(valid_result, name):
    spec = valid_result.workspaces[str(VALID / name)]
    assert spec.file == str(VALID / name)
    assert all(p.source.file.startswith(str(VALID)) and p.workspace == spec.name
               for p in spec.processes)


@pytest.mark.parametrize("case", invalid_cases(), ids=lambda p: p.name)
def test_invalid_case_reports_exactly_the_expected_lines(case: Path):
    expected = expected_path(case).read_text()
    assert expected.strip(), f"{expected_path(case)} is empty: an invalid case must fail"
    result = load_case(case)
    assert render(result) == expected
    assert result.invalid_files >= {p.file for p in result.problems}
    assert not set(result.workspaces) & result.invalid_files


def test_every_expected_file_has_its_case():
    cases = {expected_path(c) for c in invalid_cases()}
    assert set(INVALID.glob("*.expected")) == cases
