"""types.serializable_value_with / json / toml (NixOS serializableValueWith)."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from declos.config import evaluate, types


def test_descriptions_and_checks() -> None:
    assert types.json.description == "JSON value"
    assert types.toml.description == "TOML value"
    assert types.json.check(None) and not types.toml.check(None)
    for good in (True, 1, 1.5, "s", PurePath("/p"), {"a": [1]}, []):
        assert types.toml.check(good), good
    assert not types.json.check(lambda: 1)


def test_values_merge_recursively(modules: Any, eval_error: Any) -> None:
    files = modules(
        a__yaml="options:\n  v: {type: json}\n  w: {type: json}\nconfig:\n  v: {a: [1], b: {c: 1}}\n  w: 1\n",
        b__yaml="v: {a: [2], b: {d: null}}\nw: x\n",
    )
    assert evaluate(files, bare=True).value("v") == {"a": [1, 2], "b": {"c": 1, "d": None}}
    assert eval_error(files, "w").startswith(
        "The option `w' is not of type `JSON value'. Definition values:\n- In `a.yaml:6': 1\n"
        '- In `b.yaml:2\': "x"'
    )
