"""Runs every case of the hardening corpus (tests/hardening/cases, format in README.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .corpus import Case, load_cases, problems, run_case

CASES = load_cases()


def _param(case: Case) -> Any:
    """A case with `xfail` set is expected to fail, strictly: fixing it flips the test loudly."""
    marks = [pytest.mark.xfail(reason=case.xfail, strict=True)] if case.xfail else []
    return pytest.param(case, id=case.name, marks=marks)


def test_the_corpus_is_big_enough() -> None:
    """Issue 8 asks for at least 150 cases."""
    assert len(CASES) >= 150, f"{len(CASES)} cases"


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_case(case: Case, tmp_path: Path) -> None:
    outcome = run_case(case, tmp_path)
    found = problems(outcome)
    assert not found, (
        f"{case.name} ({case.spec['why']}):\n  "
        + "\n  ".join(found)
        + f"\n--- stderr ---\n{outcome.stderr[-3000:]}"
    )
