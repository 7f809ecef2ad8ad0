"""`types.module_type`, `types.module_type_with` and the `module_type` / `extend_modules`
module arguments (NixOS `moduleType`, `extendModules`)."""

from __future__ import annotations

from typing import Any

import pytest

from declos.config import EvaluationError, evaluate


def test_module_type_instances_rerun_the_declaring_modules(modules: Any) -> None:
    files = modules(
        a__py="""
        from declos.config import Option, types
        options = {
            "n": Option(types.int, default=1),
            "twice": Option(types.int),
            "variants": Option(types.lazy_attrs_of(types.module_type), default={}),
        }
        def config(config):
            return {"twice": config.n * 2, "variants": {"big": {"n": 10}}}
        """
    )
    ev = evaluate(files, bare=True)
    assert ev.value("twice") == 2
    assert ev.value("variants.big.twice") == 20
    assert ev.value("variants.big.variants.big.twice") == 20
    assert list(ev.lookup("variants.big")) == ["assertions", "warnings", "n", "twice", "variants"]


def test_module_type_with_adds_modules_and_keeps_the_class(modules: Any) -> None:
    files = modules(
        a__py="""
        from declos.config import Option, mk_override, types
        options = {
            "n": Option(types.int, default=1),
            "c": Option(types.raw),
            "alt": Option(types.module_type_with([{"n": mk_override(10, 5)}]), default={}),
        }
        def config(_class):
            return {"c": _class}
        """
    )
    ev = evaluate(files, bare=True, class_="nixos")
    assert (ev.value("alt.n"), ev.value("alt.c"), ev.value("alt.alt.n")) == (5, "nixos", 5)


def test_extend_modules_argument(modules: Any) -> None:
    files = modules(
        a__py="""
        from declos.config import Option, mk_force, types
        options = {"n": Option(types.int, default=1), "out": Option(types.raw)}
        def config(extend_modules, module_type):
            more = extend_modules(modules=[{"n": mk_force(7)}])
            return {"out": {"n": lambda: more.config.n, "type": module_type.description,
                            "ext": more.type.description, "cls": more["class"]}}
        """
    )
    ev = evaluate(files, bare=True)
    out = ev.value("out")
    assert out["n"]() == 7
    assert (out["type"], out["ext"], out["cls"]) == ("submodule", "submodule", None)
    assert ev.value("n") == 1


def test_extended_evaluation_errors_are_evaluation_errors(modules: Any) -> None:
    files = modules(
        a__py="""
        from declos.config import Option, types
        options = {"n": Option(types.int, default=1), "out": Option(types.raw)}
        def config(extend_modules):
            return {"out": extend_modules(modules=[{"n": "x"}])}
        """
    )
    ev = evaluate(files, bare=True)
    with pytest.raises(EvaluationError) as info:
        _ = ev.lookup("out").config.n
    assert "A definition for option `n' is not of type `signed integer'" in str(info.value)
