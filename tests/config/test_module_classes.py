"""Module classes (NixOS `_class` / `class`), the `_class` module argument, and
lib.eval_modules (NixOS lib.evalModules called from a module)."""

from __future__ import annotations

from typing import Any

import pytest

from declos.config import EvaluationError, evaluate

REFUSED = (
    'The module `{file}` (class: "darwin") cannot be imported into a module evaluation '
    'that expects class "nixos".\n\nHelp:\n'
    "- Ensure that you are importing the correct module.\n"
    '- Verify that the module\'s `_class`, "darwin" matches the expected `class` "nixos".\n'
    "- If you are using a custom class, make sure it is correctly defined and used "
    "consistently across your modules."
)


def test_an_evaluation_refuses_modules_of_another_class(modules: Any) -> None:
    files = modules(
        a__yaml="_class: nixos\noptions:\n  x: {type: int, default: 1}\n",
        b__py="_class = None\nconfig = {'x': 2}\n",
        c__yaml="_class: darwin\n",
    )
    assert evaluate(files[:2], bare=True, class_="nixos").value("x") == 2
    assert evaluate(files, bare=True).value("x") == 2  # no class expected: any module
    with pytest.raises(EvaluationError) as info:
        evaluate(files, bare=True, class_="nixos")
    assert str(info.value) == REFUSED.format(file="c.yaml")


def test_a_module_dict_names_itself_with_file(modules: Any) -> None:
    files = modules(a__py="imports = [{'_file': 'flake.nix#darwin', '_class': 'darwin'}]\n")
    with pytest.raises(EvaluationError) as info:
        evaluate(files, bare=True, class_="nixos")
    assert str(info.value) == REFUSED.format(file="flake.nix#darwin")


def test_class_must_be_a_string(modules: Any) -> None:
    files = modules(a__yaml="_class: [nixos]\n")
    with pytest.raises(EvaluationError) as info:
        evaluate(files, bare=True)
    assert str(info.value) == (
        "In module `a.yaml:1': `_class' must be a string (e.g. \"nixos\"), not ['nixos']."
    )


def test_modules_and_imports_functions_receive_the_class(modules: Any) -> None:
    files = modules(
        a__py="""
        from declos.config import Option
        def imports(_class):
            return [{"options": {"seen": Option(default=_class)}}]
        def config(_class):
            return {"also": _class}
        options = {"also": Option()}
        """
    )
    assert evaluate(files, bare=True, class_="nixos").value("seen") == "nixos"
    assert evaluate(files, bare=True, class_="nixos").value("also") == "nixos"
    assert evaluate(files, bare=True).value("seen") is None


def test_submodule_with_class(modules: Any, eval_error: Any) -> None:
    files = modules(
        d__yaml="_class: darwin\n",
        a__py="""
        from declos.config import Option, types
        def probe_config(_class):
            return {"k": _class}
        probe = {"options": {"k": Option()}, "config": probe_config}
        options = {
            "ok": Option(types.submodule_with(class_="nixos", modules=[probe]), default={}),
            "bad": Option(types.submodule_with(class_="nixos", modules=[])),
        }
        config = {"bad": {"imports": ["d.yaml"]}}
        """,
    )
    assert evaluate(files[1:], bare=True).value("ok.k") == "nixos"
    assert eval_error(files[1:], "bad") == REFUSED.format(file="d.yaml")


def test_conflicting_submodule_classes(modules: Any, eval_error: Any) -> None:
    files = modules(
        a__py="""
        from declos.config import Option, types
        imports = [{"options": {"s": Option(types.submodule_with(class_="darwin"))}}]
        options = {"s": Option(types.submodule_with(class_="nixos"), default={})}
        """
    )
    assert eval_error(files, "s") == (
        "A submoduleWith option is declared multiple times with conflicting class values "
        '"darwin" and "nixos".'
    )


def test_eval_modules_runs_when_read(modules: Any) -> None:
    files = modules(
        d__yaml="_class: darwin\n",
        n__yaml="options:\n  foo: {type: str, default: x}\n",
        a__py="""
        from declos.config import Option, types
        options = {"good": Option(types.raw), "bad": Option(types.raw)}
        def config(lib):
            return {
                "good": lib.eval_modules(class_="nixos", modules=["n.yaml"]),
                "bad": lib.eval_modules(class_="nixos", modules=["d.yaml"]),
            }
        """,
    )
    ev = evaluate(files[2:], bare=True)
    assert ev.value("good.config.foo") == "x"
    assert ev.value("good.class") == "nixos"
    assert ev.value("bad.class") == "nixos"
    assert ev.value("good._type") == "configuration"
    assert ev.value("good.options.foo.default") == "x"
    with pytest.raises(EvaluationError) as info:
        ev.value("bad.config")
    assert str(info.value) == REFUSED.format(file="d.yaml")


def test_eval_modules_type_declares_a_submodule(modules: Any, eval_error: Any) -> None:
    files = modules(
        n__yaml="options:\n  foo: {type: str, default: x}\n",
        a__py="""
        from declos.config import Option, eval_modules
        options = {"s": Option(eval_modules(modules=["n.yaml"], class_="nixos").type, default={})}
        """,
        b__py="""
        from declos.config import eval_modules
        options = {"bad": eval_modules(modules=[])}
        """,
    )
    assert evaluate(files[:2], bare=True).value("s") == {"foo": "x"}
    assert eval_error([files[2]], "bad") == (
        "In module b.py: expected an option declaration at option path `bad` but got an "
        "attribute set with type configuration.\n"
        "Hint: declare options with Option(type, default, description)."
    )
