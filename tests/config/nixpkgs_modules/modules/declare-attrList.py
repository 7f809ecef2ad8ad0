# declare-attrList.nix translated whole. Nix's `assertions` option is `result` here
# (every declos evaluation declares `assertions` itself, a list of checks); it evaluates
# this file again with lib.eval_modules and compares each value, as Nix's does. Nix's
# `abort "... MUST NOT be evaluated"` is `_ABORT`, a lazy value that fails if computed.
# The `attrListStrict` wrappers only force Nix's laziness; declos's error checks query
# `attrList.X` directly. The last Nix assertion renders the definitions with
# lib.cli.toCommandLineGNU, a Nix library function: here a Python lambda of the same
# output ("-xfirst"), through the same mkMerge of valueMeta.definitions.
from pathlib import Path

from declos.config import (
    Option,
    lazy,
    mk_after,
    mk_before,
    mk_default,
    mk_force,
    mk_if,
    mk_merge,
    mk_order,
    mk_override,
    types,
)


def _must_not_run():
    raise AssertionError("overridden by mkForce; laziness guarantee: MUST NOT be evaluated")


_ABORT = lazy(_must_not_run)


def _last(_name, values):
    return values[-1]


options = {
    "attrList": Option(types.lazy_attrs_of(types.attr_list_of(types.str))),
    "attrListInt": Option(types.lazy_attrs_of(types.attr_list_of(types.int))),
    "attrListSubmodule": Option(
        types.attr_list_of(
            types.submodule(
                {
                    "options": {
                        "port": Option(types.int, description="Port number"),
                        "host": Option(types.str, default="localhost", description="Hostname"),
                    }
                }
            )
        )
    ),
    # asAttrs: value is a merged attrset, ordered list in valueMeta
    "asAttrs": Option(
        types.lazy_attrs_of(types.attr_list_with(types.str, as_attrs=True, merge_attr_values=_last))
    ),
    # asAttrs with default mergeAttrValues: duplicates collected into lists
    "asAttrsDefault": Option(types.lazy_attrs_of(types.attr_list_with(types.int, as_attrs=True))),
    "eitherAttrListOrInt": Option(types.either(types.attr_list_of(types.str), types.int)),
    "eitherAttrListOrIntFallback": Option(types.either(types.attr_list_of(types.str), types.int)),
    "eitherIntOrAttrList": Option(types.either(types.int, types.attr_list_of(types.str))),
    "eitherIntOrAttrListFallback": Option(types.either(types.int, types.attr_list_of(types.str))),
    "result": Option(),
}

# Second module contributing to multiModule
imports = [{"attrListInt": {"multiModule": [{"b": 2}]}}]

_ATTR_LIST = {
    "listInput": [{"a": "alpha"}, {"b": "beta"}],
    "attrsetOrdered": {"x": mk_order(200, "x-val"), "y": mk_order(100, "y-val")},
    "mixed": mk_merge([[{"m": "from-list"}], {"n": mk_order(50, "from-attrset")}]),
    "attrsetNoOrder": {"foo": "bar", "baz": "qux"},
    "empty": [],
    "ordering": mk_merge(
        [
            {"last": mk_order(1500, "last")},
            {"first": mk_order(500, "first")},
            [{"middle": "middle"}],
        ]
    ),
    "listOrdering": [mk_after({"z": "after"}), {"m": "default"}, mk_before({"a": "before"})],
    "listDefaultPrio": mk_merge(
        [
            {"after": mk_order(1001, "after")},
            [{"mid": "list-entry"}],
            {"before": mk_order(999, "before")},
        ]
    ),
    "beforeAfter": mk_merge(
        [{"z": mk_after("after")}, {"a": mk_before("before")}, [{"m": "default"}]]
    ),
    "withMkIf": mk_merge([mk_if(True, [{"yes": "included"}]), mk_if(False, [{"no": "excluded"}])]),
    "withOverride": mk_merge(
        [mk_override(100, [{"replaced": "gone"}]), mk_override(50, [{"winner": "wins"}])]
    ),
    "withDefault": mk_merge([mk_default([{"default": "overridden"}]), [{"normal": "wins"}]]),
    "withForce": mk_merge([[{"discarded": "gone"}], mk_force([{"forced": "wins"}])]),
    "forceWithOrder": mk_force([mk_after({"second": "after"}), mk_before({"first": "before"})]),
    "forceAttrset": mk_merge(
        [
            [{"discarded": "gone"}],
            mk_force({"x": mk_order(200, "x-val"), "y": mk_order(100, "y-val")}),
        ]
    ),
    "forceRepeatedKey": [
        {"x": mk_override(100, _ABORT)},
        {"x": mk_force("wins")},
        {"x": mk_force("wins 2")},
    ],
    "forceRepeatedKeyMerge": mk_merge(
        [
            [{"x": "unused: overridden by mkForce"}, {"x": mk_default(_ABORT)}],
            [{"x": mk_override(100, _ABORT)}],
            [{"x": mk_force("forced")}],
        ]
    ),
    "forceRepeatedKeyAttrs": mk_merge(
        [{"x": mk_default(_ABORT), "y": "kept"}, {"x": mk_force("forced")}]
    ),
    "forcePartialAttrs": mk_merge(
        [{"x": "unused: overridden by mkForce", "y": "normal y"}, {"x": mk_force("forced x")}]
    ),
    "forceMixedFormats": mk_merge(
        [[{"x": mk_override(100, _ABORT)}, {"y": "list y"}], {"x": mk_force("attrset forced x")}]
    ),
    "nestListOrderForce": mk_merge(
        [
            [
                {"x": mk_default(_ABORT)},
                mk_order(500, {"x": mk_force("forced-early")}),
                mk_order(1500, {"y": "late"}),
            ],
            [mk_order(100, {"z": "earliest"})],
        ]
    ),
    "nestListOrderOfForce": mk_merge(
        [
            [{"x": mk_override(100, _ABORT)}, {"y": "plain-early"}],
            [{"x": mk_order(1500, mk_force("forced-late"))}, {"z": mk_order(500, "earliest")}],
            [{"x": "unused: overridden by mkForce"}, {"w": mk_order(1200, "mid")}],
        ]
    ),
    "nestListForceOfOrder": mk_merge(
        [
            [{"x": "unused: overridden by mkForce"}, {"y": "plain-early"}],
            [{"x": mk_force(mk_order(1500, "forced-late"))}, {"z": mk_order(500, "earliest")}],
            [{"x": mk_default(_ABORT)}, {"w": mk_order(1200, "mid")}],
        ]
    ),
    "nestAttrsOrderOfForce": mk_merge(
        [
            {"x": mk_override(100, _ABORT), "y": "plain-early"},
            {"x": mk_order(1500, mk_force("forced-late")), "z": mk_order(500, "earliest")},
            {"x": "unused: overridden by mkForce", "w": mk_order(1200, "mid")},
        ]
    ),
    "nestAttrsForceOfOrder": mk_merge(
        [
            {"x": "unused: overridden by mkForce", "y": "plain-early"},
            {"x": mk_force(mk_order(1500, "forced-late")), "z": mk_order(500, "earliest")},
            {"x": mk_default(_ABORT), "w": mk_order(1200, "mid")},
        ]
    ),
    # Bad: list element with multiple keys
    "badListElem": [{"a": "ok", "b": "extra"}],
    # Bad: plain string instead of list or attrset
    "badString": "not-a-container",
    # Bad: list element is a bare string, not a singleton attrset
    "badListString": ["not a singleton attribute"],
}

_ATTR_LIST_INT = {
    "multiModule": [{"a": 1}],
    "forceElementValue": [
        {"a": mk_default(_ABORT)},
        {"a": mk_force(42)},
        {"a": mk_override(100, _ABORT)},
        {"b": 2},
    ],
    "optionalValueList": [{"a": mk_if(True, 1)}, {"b": mk_if(False, 2)}, {"c": 3}],
    "optionalValueAttrs": {"a": mk_if(True, 1), "b": mk_if(False, 2), "c": 3},
    # Bad: string where int expected
    "badValue": [{"a": "not-an-int"}],
}


def _checks(lib):
    c = lib.eval_modules(modules=[Path(__file__)])
    cfg = c.config
    opts = c.options
    attr_list = cfg.attrList
    assert attr_list.listInput == [{"a": "alpha"}, {"b": "beta"}]
    assert attr_list.attrsetOrdered == [{"y": "y-val"}, {"x": "x-val"}]
    assert attr_list.mixed == [{"n": "from-attrset"}, {"m": "from-list"}]
    # import module's definition comes before this module's
    assert cfg.attrListInt.multiModule == [{"b": 2}, {"a": 1}]
    assert len(attr_list.attrsetNoOrder) == 2
    assert attr_list.empty == []
    assert attr_list.listOrdering == [{"a": "before"}, {"m": "default"}, {"z": "after"}]
    assert attr_list.listDefaultPrio == [
        {"before": "before"},
        {"mid": "list-entry"},
        {"after": "after"},
    ]
    assert attr_list.ordering == [{"first": "first"}, {"middle": "middle"}, {"last": "last"}]
    assert attr_list.beforeAfter == [{"a": "before"}, {"m": "default"}, {"z": "after"}]
    assert attr_list.withMkIf == [{"yes": "included"}]
    assert attr_list.withOverride == [{"winner": "wins"}]
    assert attr_list.withDefault == [{"normal": "wins"}]
    assert attr_list.withForce == [{"forced": "wins"}]
    assert attr_list.forceWithOrder == [{"first": "before"}, {"second": "after"}]
    assert cfg.attrListInt.forceElementValue == [{"a": 42}, {"b": 2}]
    assert attr_list.forceAttrset == [{"y": "y-val"}, {"x": "x-val"}]
    assert attr_list.forceRepeatedKey == [{"x": "wins"}, {"x": "wins 2"}]
    assert attr_list.forceRepeatedKeyMerge == [{"x": "forced"}]
    assert attr_list.forceRepeatedKeyAttrs == [{"y": "kept"}, {"x": "forced"}]
    assert attr_list.forcePartialAttrs == [{"y": "normal y"}, {"x": "forced x"}]
    assert attr_list.forceMixedFormats == [{"y": "list y"}, {"x": "attrset forced x"}]
    assert attr_list.nestListOrderForce == [
        {"z": "earliest"},
        {"x": "forced-early"},
        {"y": "late"},
    ]
    late = [{"z": "earliest"}, {"y": "plain-early"}, {"w": "mid"}, {"x": "forced-late"}]
    assert attr_list.nestListOrderOfForce == late
    assert attr_list.nestListForceOfOrder == late
    assert attr_list.nestAttrsOrderOfForce == late
    assert attr_list.nestAttrsForceOfOrder == late
    assert cfg.attrListInt.optionalValueList == [{"a": 1}, {"c": 3}]
    assert cfg.attrListInt.optionalValueAttrs == [{"a": 1}, {"c": 3}]
    # submodule: value, option descriptions, and valueMeta with real configuration metadata
    assert cfg.attrListSubmodule == [
        {"web": {"host": "localhost", "port": 80}},
        {"db": {"host": "dbhost", "port": 5432}},
    ]
    items = opts.attrListSubmodule.valueMeta.attrList
    assert [m.configuration.config for m in items] == [
        {"host": "localhost", "port": 80},
        {"host": "dbhost", "port": 5432},
    ]
    described = [
        {n: o.description for n, o in m.configuration.options.items() if n != "_module"}
        for m in items
    ]
    assert described == [{"host": "Hostname", "port": "Port number"}] * 2
    # valueMeta.attrList has one entry per (non-filtered) element
    meta = opts.attrList.valueMeta.attrs
    assert meta.listInput.attrList == [{}, {}]
    assert meta.attrsetOrdered.attrList == [{}, {}]
    assert meta.mixed.attrList == [{}, {}]
    assert meta.empty.attrList == []
    assert opts.attrListInt.valueMeta.attrs.optionalValueList.attrList == [{}, {}]
    # either: the attrList branch for list input, the int branch for an int
    assert cfg.eitherAttrListOrInt == [{"a": "hello"}, {"b": "world"}]
    assert cfg.eitherAttrListOrIntFallback == 42
    assert cfg.eitherIntOrAttrList == 42
    assert cfg.eitherIntOrAttrListFallback == [{"a": "hello"}]
    # asAttrs
    as_attrs = opts.asAttrs.valueMeta.attrs
    assert cfg.asAttrs.unique == {"a": "alpha", "b": "beta"}
    assert as_attrs.unique.attrListValue == [{"a": "alpha"}, {"b": "beta"}]
    assert cfg.asAttrs.duplicateKeys == {"x": "last", "y": "only"}
    assert as_attrs.duplicateKeys.attrListValue == [{"x": "first"}, {"y": "only"}, {"x": "last"}]
    assert cfg.asAttrs.ordered == {"a": "a-val", "z": "z-val"}
    assert as_attrs.ordered.attrListValue == [{"a": "a-val"}, {"z": "z-val"}]
    assert cfg.asAttrs.withForce == {"x": "forced", "y": "kept"}
    assert cfg.asAttrs.empty == {}
    assert cfg.asAttrsDefault.unique == {"a": [1], "b": [2]}
    assert cfg.asAttrsDefault.duplicates == {"x": [10, 20, 30], "y": [99]}
    assert opts.asAttrsDefault.valueMeta.attrs.duplicates.attrListValue == [
        {"x": 10},
        {"y": 99},
        {"x": 20},
        {"x": 30},
    ]
    # valueMeta.definitions: mkDefinition records with mkOrder-wrapped single-key attrsets
    defs = as_attrs.duplicateKeys.definitions
    assert [{"prio": d.value.priority, "value": d.value.content} for d in defs] == [
        {"prio": 500, "value": {"x": "first"}},
        {"prio": 1000, "value": {"y": "only"}},
        {"prio": 1500, "value": {"x": "last"}},
    ]
    # Round trip: the definitions, rendered, through mkMerge into a listOf option
    rendered = lib.map_definition_value(
        lambda attr: [f"-{k}{v}" for k, v in attr.items()], mk_merge(defs)
    )
    result = lib.eval_modules(
        modules=[
            {"options": {"out": Option(types.list_of(types.str))}},
            {"config": {"out": rendered}},
            # Interleave: mkOrder 800 lands between x(500) and y(1000)
            {"config": {"out": mk_order(800, ["--interleaved"])}},
        ]
    ).config.out
    assert result == ["-xfirst", "--interleaved", "-yonly", "-xlast"]
    return "ok"


def config(lib):
    return {
        "attrList": _ATTR_LIST,
        "attrListInt": _ATTR_LIST_INT,
        "attrListSubmodule": [{"web": {"port": 80}}, {"db": {"port": 5432, "host": "dbhost"}}],
        "asAttrs": {
            "unique": [{"a": "alpha"}, {"b": "beta"}],
            "duplicateKeys": mk_merge(
                [{"x": mk_order(500, "first")}, {"x": mk_order(1500, "last")}, {"y": "only"}]
            ),
            "ordered": {"z": mk_order(200, "z-val"), "a": mk_order(100, "a-val")},
            "withForce": mk_merge(
                [{"x": "unused: overridden by mkForce"}, {"x": mk_force("forced"), "y": "kept"}]
            ),
            "empty": [],
        },
        "asAttrsDefault": {
            "unique": [{"a": 1}, {"b": 2}],
            "duplicates": mk_merge(
                [
                    {"x": mk_order(500, 10)},
                    {"x": mk_order(1500, 30)},
                    {"y": 99},
                    [{"x": 20}],
                ]
            ),
        },
        "eitherAttrListOrInt": [{"a": "hello"}, {"b": "world"}],
        "eitherAttrListOrIntFallback": 42,
        "eitherIntOrAttrList": 42,
        "eitherIntOrAttrListFallback": [{"a": "hello"}],
        "result": lazy(lambda: _checks(lib)),
    }
