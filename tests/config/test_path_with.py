"""types.path_with (NixOS pathWith { inStore, absolute }): descriptions, checks against
the store directory, declaration merging, the YAML spelling, pathlib paths as values."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

import pytest

from declos.config import evaluate, types

HASH = "0fb3ykw9r5hpayd05sr0cizwadzq1d8q"


@pytest.mark.parametrize(
    ("typ", "description"),
    [
        (types.path_with(), "path"),
        (types.path_with(absolute=True), "absolute path"),
        (types.path_with(absolute=False), "relative path"),
        (types.path_with(in_store=True), "path in the Nix store"),
        (types.path_with(in_store=False, absolute=True), "absolute path not in the Nix store"),
        (types.path, "absolute path"),
        (types.path_in_store, "path in the Nix store"),
        (types.external_path, "absolute path not in the Nix store"),
    ],
)
def test_descriptions(typ: Any, description: str) -> None:
    assert typ.description == description
    assert typ.name == "path"


def test_store_membership_follows_the_store_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DECLOS_STORE_DIR", "/s/store")
    in_store, outside = types.path_with(in_store=True), types.path_with(in_store=False)
    for value in (f"/s/store/{HASH}-bash", f"/s/store/{HASH}-bash/bin/bash", "/" + "a" * 52):
        assert in_store.check(value) and not outside.check(value), value
    for value in ("", "/s/store", "/s/store/", "/s/store/.links", f"/nix/store/{HASH}-bash"):
        assert outside.check(value) and not in_store.check(value), value
    assert in_store.check(f"s/store/{HASH}-x")  # NixOS: `/. + x`, so relative counts too


def test_pathlib_paths_are_path_values() -> None:
    assert types.path_with().check(PurePath("/etc/hosts"))
    assert not types.path_with(in_store=False).check(PurePath("/etc/hosts"))
    assert not types.path_with(absolute=True).check(PurePath("etc/hosts"))
    assert not types.path_with().check(42)


def test_impossible_combination_is_refused() -> None:
    with pytest.raises(ValueError, match="In pathWith, inStore means the path must be absolute"):
        types.path_with(in_store=True, absolute=False)


def test_declarations_merge_only_with_the_same_parameters(modules: Any, eval_error: Any) -> None:
    same = modules(
        a__yaml="options:\n  p: {type: 'path_with(in_store=False)'}\n",
        b__yaml="options:\n  p: {type: 'path_with(in_store=False, absolute=None)'}\nconfig: {p: ./x}\n",
    )
    assert evaluate(same, bare=True).value("p") == "./x"
    other = modules(
        c__yaml="options:\n  q: {type: 'path_with(absolute=True)'}\n",
        d__yaml="options:\n  q: {type: 'path_with(absolute=False)'}\nconfig: {q: /x}\n",
    )
    assert "The option `q' in `c.yaml:2' is already declared in `d.yaml:2'" in eval_error(
        other, "q"
    )


def test_a_pathlib_value_reads_as_its_string(modules: Any, eval_error: Any) -> None:
    files = modules(
        a__py="""
        from pathlib import Path
        from declos.config import Option, types
        options = {"p": Option(types.path), "q": Option(types.external_path)}
        config = {"p": Path("/etc/hosts"), "q": Path("/etc/hosts")}
        """
    )
    assert evaluate(files, bare=True).value("p") == "/etc/hosts"
    assert eval_error(files, "q") == (
        "A definition for option `q' is not of type `absolute path not in the Nix store'. "
        "Definition values:\n- In `a.py:4': /etc/hosts\n"
        "Hint: give a value of type `absolute path not in the Nix store'."
    )
