"""`types.deferred_module`, `types.attr_tag`, `types.attr_list_of` (issue 14): NixOS's
checks, merges, descriptions and messages (lib/types.nix deferredModuleWith, attrTag,
attrListWith)."""

from __future__ import annotations

from typing import Any

import pytest

from declos.config import EvaluationError, InlineModule, Option, evaluate, lazy, types
from declos.config.properties import mk_force, mk_order


def _module(name: str, spec: dict[str, Any]) -> InlineModule:
    return InlineModule.from_spec(spec, f"{name}.py", 1, name)


NODES = _module(
    "generic",
    {
        "options": {
            "nodes": Option(
                types.lazy_attrs_of(types.submodule(lazy(lambda config: config.default))),
                default={},
            ),
            "default": Option(types.deferred_module, default={}),
        }
    },
)
DEFAULT = _module(
    "default-1",
    {
        "config": {
            "default": {"options": {"settings": Option(types.lazy_attrs_of(types.str), default={})}}
        }
    },
)


def test_deferred_module_is_imported_by_every_instance() -> None:
    fn_default = _module(
        "fn",
        {
            "config": {
                "default": lambda config: {"settings": {"c": lazy(lambda c: c.settings["b"])}}
            }
        },
    )
    nodes = _module("nodes", {"config": {"nodes": {"foo": {"settings": {"b": "beta"}}}}})
    ev = evaluate([NODES, DEFAULT, fn_default, nodes], bare=True)
    assert ev.value("nodes.foo.settings") == {"b": "beta", "c": "beta"}
    assert types.deferred_module.description == "module"


def test_deferred_module_errors_name_the_definition_via_the_option() -> None:
    bad = _module("bad", {"config": {"default": {"bogus": 1}, "nodes": {"foo": {}}}})
    with pytest.raises(EvaluationError) as info:
        evaluate([NODES, DEFAULT, bad], bare=True).value("nodes.foo")
    assert "- In `bad.py:1, via option default': 1" in str(info.value)


def test_deferred_module_check_and_type_merge() -> None:
    typ = types.deferred_module
    assert typ.check({}) and typ.check(lambda config: {}) and typ.check("x.yaml")
    assert not typ.check(True) and not typ.check(3)
    merged = types.deferred_module_with(["a"]).type_merge(types.deferred_module_with(["b"]))
    assert merged is not None and merged.static_modules == ["a", "b"]
    decl = _module("d", {"options": {"m": Option(types.deferred_module)}})
    with pytest.raises(EvaluationError) as info:
        evaluate([decl, _module("v", {"config": {"m": True}})], bare=True).value("m")
    assert "A definition for option `m' is not of type `module'." in str(info.value)


TAGS = types.attr_tag({"left": Option(types.int), "right": Option(types.str)})
TAGGED = _module("tagged", {"options": {"x": Option(types.attrs_of(TAGS))}})


def test_attr_tag_values_description_and_errors() -> None:
    assert TAGS.description == "attribute-tagged union with choices: left, right"
    good = _module("g", {"config": {"x": {"one": {"left": 1}, "hello": {"right": "hi"}}}})
    assert evaluate([TAGGED, good], bare=True).value("x") == {
        "one": {"left": 1},
        "hello": {"right": "hi"},
    }
    for bad, fragment in [
        (
            1,
            "A definition for option `x.e' is not of type `attribute-tagged union with choices: left, right'.",
        ),
        ({}, "is not of type `attribute-tagged union"),
        ({"left": 1, "right": "a"}, "is not of type `attribute-tagged union"),
        ({"rite": 1}, "is not of type `attribute-tagged union"),
        ({"left": "bad"}, "A definition for option `x.e.left' is not of type `signed integer'."),
    ]:
        with pytest.raises(EvaluationError) as info:
            evaluate([TAGGED, _module("b", {"config": {"x": {"e": bad}}})], bare=True).value("x")
        assert fragment in str(info.value)


def test_attr_tag_two_tags_in_two_definitions_and_bare_types() -> None:
    a = _module("a", {"config": {"x": {"e": {"left": 1}}}})
    b = _module("b", {"config": {"x": {"e": {"right": "s"}}}})
    with pytest.raises(EvaluationError) as info:
        evaluate([TAGGED, a, b], bare=True).value("x")
    assert "The option `x.e` is defined both as `left` and `right`, in `a.py:1', `b.py:1'." in str(
        info.value
    )
    with pytest.raises(EvaluationError) as info:
        types.attr_tag({"int": types.int})
    assert str(info.value).startswith(
        "In attr_tag, each tag value must be an option, but tag int was a bare type, not wrapped in Option."
    )


def test_attr_tag_type_merge_joins_the_tags() -> None:
    one = types.attr_tag({"yay": Option(types.int), "ext": Option(types.enum(["foo"]))})
    two = types.attr_tag({"nay": Option(types.bool), "ext": Option(types.enum(["bar"]))})
    merged = one.type_merge(two)
    assert merged is not None
    assert merged.description == "attribute-tagged union with choices: ext, nay, yay"
    assert merged.tags["ext"].type.description == 'one of "foo", "bar"'


LIST = _module("l", {"options": {"l": Option(types.attr_list_of(types.str))}})


def test_attr_list_of_orders_and_overrides() -> None:
    assert types.attr_list_of(types.str).description == "attribute list of string"
    assert types.attr_list_of(types.null_or(types.int)).description == (
        "attribute list of (null or signed integer)"
    )
    defs = _module(
        "d",
        {"config": {"l": {"x": mk_order(200, "x-val"), "y": mk_order(100, "y-val")}}},
    )
    lst = _module("e", {"config": {"l": [{"a": "alpha"}, mk_order(50, {"b": "first"})]}})
    forced = _module("f", {"config": {"l": {"a": mk_force("forced")}}})
    assert evaluate([LIST, defs, lst], bare=True).value("l") == [
        {"b": "first"},
        {"y": "y-val"},
        {"x": "x-val"},
        {"a": "alpha"},
    ]
    assert evaluate([LIST, lst, forced], bare=True).value("l") == [
        {"b": "first"},
        {"a": "forced"},
    ]


@pytest.mark.parametrize(
    "bad, fragment",
    [
        (
            [{"a": "x", "b": "y"}],
            "is not of type `attribute list of string'. Each list element must be a single-key "
            "attribute set, but got 2 keys.\n- In `b.py:1'",
        ),
        (
            ["s"],
            "is not of type `attribute list of string'. Each list element must be an attribute "
            "set, but got string.",
        ),
        ([{"a": 1}], "A definition for option `l.a' is not of type `string'."),
        ("s", "A definition for option `l' is not of type `attribute list of string'."),
    ],
)
def test_attr_list_of_errors(bad: Any, fragment: str) -> None:
    with pytest.raises(EvaluationError) as info:
        evaluate([LIST, _module("b", {"config": {"l": bad}})], bare=True).value("l")
    assert fragment in str(info.value)


def test_attr_list_with_as_attrs_and_yaml_spelling(modules: Any) -> None:
    typ = types.attr_list_with(types.int, as_attrs=True)
    decl = _module("a", {"options": {"a": Option(typ)}})
    value = _module("v", {"config": {"a": [{"x": 1}, {"y": 2}, {"x": 3}]}})
    assert evaluate([decl, value], bare=True).value("a") == {"x": [1, 3], "y": [2]}
    files = modules(
        m__yaml="""
        options:
          t:
            type: attrs_of(attr_tag)
            options:
              left: {type: int}
              right: {type: str, default: "d"}
          l: {type: attr_list_of(str)}
          d: {type: deferred_module}
        config:
          t: {one: {left: 1}}
          l: [{a: b}]
        """
    )
    ev = evaluate(files, bare=True)
    assert ev.value("t") == {"one": {"left": 1}}
    assert ev.value("l") == [{"a": "b"}]
