"""The fixture folders as test cases: shared by the tests and by `python -m tests.spec.fixtures`,
which rewrites the `.expected` files after a deliberate message change (review the diff)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from wezparallel.spec.loader import LoadResult, load_paths

ROOT = Path(__file__).resolve().parent.parent / "fixtures"
VALID = ROOT / "valid"
INVALID = ROOT / "invalid"
# A fixed environment: fixtures must not depend on the machine's.
ENVIRON = {"HOME": "/home/fixture", "GREETING": "hello", "USER": "fixture"}


def invalid_cases() -> list[Path]:
    """Every file or folder in invalid/ that has an `.expected` file beside it."""
    return sorted(p for p in INVALID.iterdir() if p.suffix != ".expected")


def expected_path(case: Path) -> Path:
    return case.with_name(case.name.removesuffix(".yaml").removesuffix(".yml") + ".expected")


def render(result: LoadResult) -> str:
    """`path:line:col: message` lines with paths relative to invalid/."""
    prefix = str(INVALID) + os.sep
    return "".join(f"{p}\n".replace(prefix, "") for p in result.problems)


def load_case(case: Path) -> LoadResult:
    return load_paths([case], ENVIRON)


if __name__ == "__main__":
    for case in invalid_cases():
        if case.suffix in (".env",):
            continue
        expected_path(case).write_text(render(load_case(case)))
        print("wrote", expected_path(case), file=sys.stderr)
