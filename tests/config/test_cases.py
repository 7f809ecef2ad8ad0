"""Behaviour cases: module files + expected value or error fragments (tests/config/cases/*/case.yaml).

Most are ports of nixpkgs `lib/tests/modules.sh` (T..) and the verified supplementary
cases (S..) of the reference note; each case.yaml says which. Every run evaluates the
listed files in order with --bare, from inside the case directory, so file:line in
messages is the bare file name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from declos.config import EvaluationError, evaluate

CASES = Path(__file__).with_name("cases")


def _runs() -> list[Any]:
    out = []
    for case in sorted(CASES.iterdir()):
        spec = yaml.safe_load((case / "case.yaml").read_text())
        for i, run in enumerate(spec["runs"], 1):
            out.append(pytest.param(case, run, id=f"{case.name}-{i}"))
    return out


@pytest.mark.parametrize(("case", "run"), _runs())
def test_case(case: Path, run: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(case)
    if "error" in run:
        with pytest.raises(EvaluationError) as info:
            ev = evaluate(run["files"], bare=True, special_args=run.get("special_args"))
            ev.value(run["query"])
        message = str(info.value)
        for fragment in run["error"]:
            assert fragment in message, f"missing {fragment!r} in:\n{message}"
    else:
        ev = evaluate(run["files"], bare=True, special_args=run.get("special_args"))
        assert ev.value(run["query"]) == run["expect"]
