"""Helpers: write module files into a temporary directory and evaluate them from there."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from declos.config import EvaluationError, evaluate


@pytest.fixture
def modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., list[str]]:
    """modules(name=text, ...) writes the files (dedented) and returns their names in order."""
    monkeypatch.chdir(tmp_path)

    def write(**files: str) -> list[str]:
        names = []
        for name, text in files.items():
            fname = name.replace("__", ".").replace("_dash_", "-")
            (tmp_path / fname).write_text(textwrap.dedent(text).lstrip("\n"))
            names.append(fname)
        return names

    return write


def _eval_error(files: list[str], path: str = "", **kw: Any) -> str:
    with pytest.raises(EvaluationError) as info:
        evaluate(files, bare=True, **kw).value(path)
    return str(info.value)


@pytest.fixture
def eval_error() -> Callable[..., str]:
    """eval_error(files, path) -> the message of the EvaluationError evaluating them raises."""
    return _eval_error
