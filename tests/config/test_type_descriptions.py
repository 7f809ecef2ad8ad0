"""Type descriptions exactly as NixOS prints them (lib/types.nix `optionDescriptionPhrase`),
and the types added for issue 14 (uniq, add_check, function_to, path_in_store,
submodule_with)."""

from __future__ import annotations

from typing import Any

import pytest

from declos.config import evaluate, types

DESCRIPTIONS = [
    (types.one_of([types.int, types.str, types.bool]), "signed integer or string or boolean"),
    (types.null_or(types.either(types.int, types.str)), "null or signed integer or string"),
    (
        types.either(types.list_of(types.str), types.int),
        "(list of string) or signed integer",
    ),
    (
        types.either(types.int, types.list_of(types.str)),
        "signed integer or list of string",
    ),
    (types.attrs_of(types.ints.positive), "attribute set of (positive integer, meaning >0)"),
    (
        types.either(types.ints.positive, types.str),
        "positive integer, meaning >0, or string",
    ),
    (types.list_of(types.null_or(types.str)), "list of (null or string)"),
    (types.list_of(types.attrs_of(types.int)), "list of attribute set of signed integer"),
    (types.list_of(types.attrs), "list of (attribute set)"),
    (types.list_of(types.submodule({})), "list of (submodule)"),
    (types.enum([]), "impossible (empty enum)"),
    (types.enum(["x"]), 'value "x" (singular enum)'),
    (types.enum(["a", 1]), 'one of "a", 1'),
    (types.null_or(types.enum(["a", "b"])), 'null or one of "a", "b"'),
    (types.list_of(types.enum(["a", "b"])), 'list of (one of "a", "b")'),
    (types.commas, 'strings concatenated with ","'),
    (types.lines, 'strings concatenated with "\\n"'),
    (types.non_empty_list_of(types.str), "non-empty (list of string)"),
    (
        types.coerced_to(types.int, str, types.str),
        "string or signed integer convertible to it",
    ),
    (
        types.submodule({"freeform_type": types.attrs_of(types.str), "options": {}}),
        "open submodule of attribute set of string",
    ),
    (types.function_to(types.list_of(types.str)), "function that evaluates to a(n) list of string"),
    (types.uniq(types.list_of(types.int)), "list of signed integer"),
    (types.path_in_store, "path in the Nix store"),
]


@pytest.mark.parametrize(("typ", "text"), DESCRIPTIONS, ids=[t for _, t in DESCRIPTIONS])
def test_description_as_nixos_prints_it(typ: Any, text: str) -> None:
    assert typ.description == text


def test_uniq_allows_one_definition(modules: Any, eval_error: Any) -> None:
    decl = (
        "from declos.config import Option, types\noptions = {'u': Option(types.uniq(types.int))}\n"
    )
    files = modules(d__py=decl, a__yaml="u: 1\n", b__yaml="u: 1\n")
    message = eval_error(files, "u")
    assert "The option `u' is defined multiple times while it's expected to be unique." in message
    assert evaluate(files[:2], bare=True).value("u") == 1


def test_add_check(modules: Any, eval_error: Any) -> None:
    files = modules(
        d__py="from declos.config import Option, types\n"
        "options = {'even': Option(types.add_check(types.int, lambda v: v % 2 == 0))}\n",
        a__yaml="even: 3\n",
    )
    message = eval_error(files, "even")
    assert message.startswith("A definition for option `even' is not of type `signed integer'.")


def test_function_to_merges_results(modules: Any) -> None:
    files = modules(
        d__py="""
        from declos.config import Option, types

        options = {"f": Option(types.function_to(types.list_of(types.str)))}
        """,
        a__py="config = {'f': lambda x: [x + '1']}\n",
        b__py="config = {'f': lambda x: [x + '2']}\n",
    )
    f = evaluate(files, bare=True).value("f")
    assert sorted(f("v")) == ["v1", "v2"]


def test_path_in_store(modules: Any, eval_error: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("DECLOS_STORE_DIR", "/nix/store")
    decl = "from declos.config import Option, types\noptions = {'p': Option(types.path_in_store)}\n"
    good = modules(d__py=decl, a__yaml="p: /nix/store/" + "a" * 32 + "-hello/bin\n")
    assert evaluate(good, bare=True).value("p").endswith("-hello/bin")
    bad = modules(d__py=decl, a__yaml="p: /etc/passwd\n")
    assert "is not of type `path in the Nix store'" in eval_error(bad, "p")


def test_submodule_with_special_args(modules: Any) -> None:
    files = modules(
        d__py="""
        from declos.config import Option, types

        def sub_config(flavour):
            return {"flavour": flavour}

        inner = {
            "options": {"flavour": Option(types.str)},
            "config": sub_config,
        }
        options = {
            "s": Option(types.submodule_with(modules=[inner], special_args={"flavour": "mint"})),
        }
        """,
    )
    assert evaluate(files, bare=True).value("s") == {"flavour": "mint"}
