"""types.option_declaration and types.option_type (NixOS optionDeclaration, optionType)."""

from __future__ import annotations

from typing import Any

import pytest

from declos.config import EvaluationError, Option, evaluate, types


def test_option_type_values_merge_like_declarations(modules: Any, eval_error: Any) -> None:
    files = modules(
        a__py="""
        from declos.config import Option, types
        options = {"t": Option(types.option_type), "bad": Option(types.option_type)}
        config = {"t": types.enum(["a"]), "bad": types.int}
        """,
        b__py="""
        from declos.config import types
        config = {"t": types.enum(["b"]), "bad": types.str}
        """,
    )
    assert evaluate(files, bare=True).value("t").description == 'one of "a", "b"'
    assert eval_error(files, "bad").startswith(
        "The option `bad' in `b.py:2' is already declared in `a.py:3'."
    )
    assert types.option_type.description == "optionType"


def test_option_declaration_takes_options_only(modules: Any, eval_error: Any) -> None:
    assert types.option_declaration.check(Option(types.int))
    assert not types.option_declaration.check(types.int)
    files = modules(a__yaml="options:\n  o: {type: option_declaration}\nconfig:\n  o: 3\n")
    assert eval_error(files, "o").startswith(
        "A definition for option `o' is not of type `option declaration'. Definition values:\n"
        "- In `a.yaml:4': 3"
    )


def test_declaration_and_type_computed_from_config(modules: Any) -> None:
    files = modules(
        a__py="""
        from declos.config import Option, lazy, types
        options = {
            "decl": Option(types.option_declaration),
            "typ": Option(types.option_type),
            "x": lazy(lambda config: config.decl),
            "y": Option(lazy(lambda config: config.typ), default=[]),
            "bad": lazy(lambda config: 3),
        }
        config = {"decl": Option(types.int, default=1), "typ": types.list_of(types.str),
                  "y": ["a"]}
        """
    )
    ev = evaluate(files, bare=True)
    assert (ev.value("x"), ev.value("y")) == (1, ["a"])
    assert ev.options.y.type.description == "list of string"
    assert ev.options.x.default == 1
    with pytest.raises(EvaluationError) as info:
        ev.value("bad")
    assert str(info.value) == (
        "The option declaration of `bad' (declared in `a.py:7') is computed from the "
        "configuration, which gave 3, not an option declaration."
    )
