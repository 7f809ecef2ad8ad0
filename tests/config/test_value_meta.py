"""options.X.valueMeta (NixOS merge v2 metadata): attrs, list, submodule configuration."""

from __future__ import annotations

from typing import Any

from declos.config import evaluate
from declos.config.values import to_plain


def test_value_meta_follows_the_type(modules: Any) -> None:
    files = modules(
        a__py="""
        from declos.config import Option, mk_if, types
        sub = types.submodule({"n": Option(types.int, default=1)})
        options = {
            "s": Option(types.str, default="x"),
            "a": Option(types.attrs_of(types.int)),
            "l": Option(types.list_of(sub)),
        }
        config = {"a": {"x": 1, "gone": mk_if(False, 2)}, "l": [{"n": 5}, {}]}
        """
    )
    options = evaluate(files, bare=True).options
    assert to_plain(options.s.valueMeta) == {}
    assert to_plain(options.a.valueMeta) == {"attrs": {"x": {}}}
    items = options.l.valueMeta.list
    assert [item.configuration.config.n for item in items] == [5, 1]
    assert items[0].configuration.options.n.value == 5
    assert items[0].configuration.options.n.loc == ["l", "[definition 1-entry 1]", "n"]


def test_value_meta_of_an_attribute_list_names_each_item_file_and_order(modules: Any) -> None:
    files = modules(
        a__py="""
        from declos.config import Option, mk_after, mk_force, types
        options = {"l": Option(types.attr_list_of(types.int))}
        config = {"l": {"late": mk_after(3), "x": 1, "gone": 7}}
        """,
        b__py="""
        from declos.config import mk_force
        config = {"l": [{"gone": mk_force(8)}, {"y": 2}]}
        """,
    )
    meta = evaluate(files, bare=True).options.l.valueMeta
    assert meta.attrListValue == [{"x": 1}, {"gone": 8}, {"y": 2}, {"late": 3}]
    assert to_plain(meta.attrList) == [{}, {}, {}, {}]
    defs = meta.definitions
    assert [(d.file, d.value.priority, d.value.content) for d in defs] == [
        ("a.py", 1000, {"x": 1}),
        ("b.py", 1000, {"gone": 8}),
        ("b.py", 1000, {"y": 2}),
        ("a.py", 1500, {"late": 3}),
    ]
