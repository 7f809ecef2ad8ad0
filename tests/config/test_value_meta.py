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
