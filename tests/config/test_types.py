"""Unit tests per type: check, merge of several definitions, empty value, description."""

from __future__ import annotations

from typing import Any

import pytest

from declos.config import (
    EvaluationError,
    Option,
    evaluate,
    lazy,
    mk_default,
    mk_force,
    mk_if,
    types,
)


class Drv:
    """A derivation-like object, as declos.pkgs makes them."""

    def __init__(self, out_path: str) -> None:
        self.out_path = out_path

    def __str__(self) -> str:
        return self.out_path


STORE_PATH = "/declos/store/" + "a" * 32 + "-hello-2.12"


def value(typ: Any, *defs: Any, default: Any = None, has_default: bool = False) -> Any:
    option = Option(typ, default) if has_default else Option(typ)
    modules = [{"options": {"o": option}}] + [{"config": {"o": d}} for d in defs]
    return evaluate(modules, bare=True).value("o")


def error(typ: Any, *defs: Any) -> str:
    with pytest.raises(EvaluationError) as info:
        value(typ, *defs)
    return str(info.value)


@pytest.mark.parametrize(
    ("typ", "good", "bad", "description"),
    [
        (types.bool, True, 1, "boolean"),
        (types.int, 3, True, "signed integer"),
        (types.float, 1.5, 1, "floating point number"),
        (types.str, "x", 1, "string"),
        (types.path, "/etc/hosts", "etc/hosts", "absolute path"),
        (types.port, 80, 65536, "16 bit unsigned integer; between 0 and 65535 (both inclusive)"),
        (types.ints.between(1, 3), 2, 4, "integer between 1 and 3 (both inclusive)"),
        (types.ints.unsigned, 0, -1, "unsigned integer, meaning >=0"),
        (types.ints.positive, 1, 0, "positive integer, meaning >0"),
        (types.enum(["a", 1]), 1, "1", 'one of "a", 1'),
        (types.str_matching("[a-z]+"), "abc", "abc1", "string matching the pattern [a-z]+"),
        (types.non_empty_str, "x", " ", "non-empty string"),
    ],
)
def test_scalar_types(typ: Any, good: Any, bad: Any, description: str) -> None:
    assert typ.description == description
    assert value(typ, good) == good
    assert value(typ, good, good) == good
    assert f"is not of type `{description}'" in error(typ, bad)


@pytest.mark.parametrize(
    ("typ", "a", "b"),
    [
        (types.bool, True, False),
        (types.int, 1, 2),
        (types.str, "a", "b"),
        (types.enum(["a", "b"]), "a", "b"),
        (types.float, 1.0, 2.0),
    ],
)
def test_scalars_conflict_at_equal_priority(typ: Any, a: Any, b: Any) -> None:
    message = error(typ, a, b)
    assert "The option `o' has conflicting definition values:\n- In `<unknown-file>'" in message
    assert "mk_force(value)" in message and "!force value" in message
    assert value(typ, a, mk_force(b)) == b
    assert value(typ, mk_default(a), b) == b


def test_lines_and_separated_strings_join_in_definition_order() -> None:
    assert value(types.lines, "one", "two") == "one\ntwo"
    assert value(types.separated_string(","), "a", "b") == "a,b"
    assert value(types.commas, "a", mk_default("x"), "b") == "a,b"
    assert types.lines.description == 'strings concatenated with "\\n"'


def test_null_or() -> None:
    assert value(types.null_or(types.int), None, None) is None
    assert value(types.null_or(types.int), 1, 1) == 1
    assert value(types.null_or(types.int)) is None
    assert "is defined both null and not null" in error(types.null_or(types.int), None, 1)
    assert types.null_or(types.int).description == "null or signed integer"


def test_list_of() -> None:
    assert value(types.list_of(types.int), [1], [2, mk_if(False, 3)], mk_default([9])) == [1, 2]
    assert value(types.list_of(types.int)) == []
    message = error(types.list_of(types.int), [1, "x"])
    assert (
        "A definition for option `o.\"[definition 1-entry 2]\"' is not of type `signed integer'"
        in message
    )


def test_attrs_of_merges_per_key_and_drops_vanished_keys() -> None:
    typ = types.attrs_of(types.int)
    assert value(typ, {"a": 1}, {"b": 2, "c": mk_if(False, 3)}) == {"a": 1, "b": 2}
    assert value(typ, {"a": mk_default(1)}, {"a": 2}) == {"a": 2}
    assert value(typ) == {}
    assert "conflicting definition values" in error(typ, {"a": 1}, {"a": 2})
    assert value(typ, mk_force({"a": 1}), {"b": 2}) == {"a": 1}


def test_lazy_attrs_of_keeps_keys_and_allows_siblings() -> None:
    typ = types.lazy_attrs_of(types.int)
    modules = [
        {"options": {"x": Option(typ)}},
        {
            "config": {
                "x": {"a": lazy(lambda config: config.x.b * 2), "b": 21, "gone": mk_if(False, 1)}
            }
        },
    ]
    ev = evaluate(modules, bare=True)
    assert ev.config.x["a"] == 42
    assert "gone" in ev.config.x
    with pytest.raises(EvaluationError, match="was accessed but has no value defined"):
        ev.value("x")


def test_either_and_one_of() -> None:
    assert value(types.either(types.int, types.str), "a", "a") == "a"
    assert value(types.one_of([types.int, types.list_of(types.int), types.str]), [1], [2]) == [1, 2]
    assert "is neither a value of type `signed integer` nor `string`" in error(
        types.either(types.int, types.str), 1, "a"
    )


def test_unique_counts_definitions_after_priorities() -> None:
    typ = types.unique(types.list_of(types.int), "one list please")
    assert value(typ, [1], mk_force([2])) == [2]
    message = error(typ, [1], [2])
    assert "is defined multiple times while it's expected to be unique.\none list please" in message


def test_coerced_to() -> None:
    typ = types.coerced_to(types.int, str, types.str)
    assert value(typ, 5) == "5"
    assert value(typ, "x") == "x"
    assert typ.type_merge(typ) is None


def test_package_accepts_derivations_and_store_paths() -> None:
    drv = Drv(STORE_PATH)
    assert value(types.package, drv) is drv
    assert value(types.package, STORE_PATH) == STORE_PATH
    assert "is not of type `package'" in error(types.package, "/usr/bin/hello")
    assert "is defined multiple times" in error(types.package, drv, drv)


def test_anything_merges_attrsets_recursively() -> None:
    assert value(types.anything, {"a": {"b": 1}}, {"a": {"c": mk_default(2)}, "l": [1]}) == {
        "a": {"b": 1, "c": 2},
        "l": [1],
    }
    assert value(types.anything, [1], [1]) == [1]
    assert "conflicting definition values" in error(types.anything, [1], [2])
    assert "has conflicting option types in `<unknown-file>' and `<unknown-file>'" in error(
        types.anything, {"a": 1}, [1]
    )


def test_raw_attrs_unspecified() -> None:
    marker = object()
    assert value(types.raw, marker) is marker
    assert "is defined multiple times" in error(types.raw, 1, 1)
    assert value(types.attrs, {"a": {"x": 1}}, {"a": {"y": 2}, "b": 3}) == {"a": {"y": 2}, "b": 3}
    assert value(types.attrs) == {}
    assert value(types.unspecified, [1], [2]) == [1, 2]
    assert value(types.unspecified, {"a": 1}, {"b": 2}) == {"a": 1, "b": 2}
    assert value(types.unspecified, True, False) is True
    assert "Cannot merge definitions of `o'" in error(types.unspecified, 1, 2)


def test_bool_by_or() -> None:
    assert value(types.bool_by_or, False, True) is True


def test_submodule_merges_definitions_with_its_defaults_and_name() -> None:
    typ = types.attrs_of(
        types.submodule(
            lambda name: {"home": Option(types.str, "/home/" + name), "uid": Option(types.int, 0)}
        )
    )
    assert value(typ, {"alice": {"uid": 1}}, {"alice": {"uid": mk_default(5)}, "bob": {}}) == {
        "alice": {"home": "/home/alice", "uid": 1},
        "bob": {"home": "/home/bob", "uid": 0},
    }
    message = error(typ, {"alice": {"hom": "x"}})
    assert (
        "The option `o.alice.hom' does not exist" in message
        and "Did you mean `o.alice.home' or `o.alice.uid'?" in message
    )


def test_submodule_module_dict_with_config_function_and_freeform() -> None:
    typ = types.submodule(
        {
            "options": {"enable": Option(types.bool, False)},
            "config": lambda config: {"port": 80} if config.enable else {},
            "freeform_type": types.attrs_of(types.int),
        }
    )
    assert value(typ, {"enable": True}) == {"enable": True, "port": 80}
    assert value(typ, {"extra": 3}) == {"enable": False, "extra": 3}


def test_type_merge_rules() -> None:
    assert types.enum(["a"]).type_merge(types.enum(["b"])).values == ["a", "b"]
    assert types.int.type_merge(types.str) is None
    assert types.list_of(types.int).type_merge(types.list_of(types.int)) is not None
    assert types.attrs_of(types.int).type_merge(types.lazy_attrs_of(types.int)) is None
    assert types.separated_string(",").type_merge(types.separated_string(":")) is None


def test_enum_declared_twice_unions_values() -> None:
    modules = [
        {"options": {"e": Option(types.enum(["a"]), "a")}},
        {"options": {"e": Option(types.enum(["b"]))}},
        {"config": {"e": "b"}},
    ]
    assert evaluate(modules, bare=True).value("e") == "b"


def test_passwd_entry_numbers_and_loa_of() -> None:
    entry = types.passwd_entry(types.str)
    assert (entry.check("alice"), entry.check("a:b"), entry.check("a\nb")) == (True, False, False)
    assert entry.name == "passwdEntry str"
    between = types.numbers.between(0.5, 2)
    assert (
        between.description == "integer or floating point number between 0.5 and 2 (both inclusive)"
    )
    assert (between.check(1), between.check(2.5), between.check("1")) == (True, False, False)
    assert (types.numbers.positive.check(0), types.numbers.nonnegative.check(0)) == (False, True)
    assert types.loa_of(types.int).description == "attribute set of signed integer"
    assert types.enum([None, 1.5, [1]]).description == "one of <null>, <float>, <list>"
