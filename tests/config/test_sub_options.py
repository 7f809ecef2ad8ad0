"""type.get_sub_options (NixOS getSubOptions): sub-options with the type's placeholders."""

from __future__ import annotations

from typing import Any

from declos.config import Option, evaluate, types
from declos.config.docs import option_records
from declos.config.lib import LIB


def test_sub_options_carry_the_placeholders_of_their_type(modules: Any) -> None:
    files = modules(
        a__py="""
        from declos.config import Option, types
        sub = types.submodule({
            "port": Option(types.port, default=80, description="The port."),
            "tls.cert": Option(types.str),
        })
        options = {
            "vhosts": Option(types.attrs_with(sub, placeholder="host"), default={}),
            "list": Option(types.list_of(sub), default=[]),
            "maybe": Option(types.null_or(types.attrs_of(sub)), default=None),
            "plain": Option(types.int, default=1),
        }
        """
    )
    options = evaluate(files, bare=True).options
    vhosts = options.vhosts.type.get_sub_options(options.vhosts.loc)
    assert sorted(vhosts) == ["port", "tls"]
    port = vhosts["port"]
    assert port.loc == ["vhosts", "<host>", "port"]
    assert (port.type.description, port.default, port.description) == (
        "16 bit unsigned integer; between 0 and 65535 (both inclusive)",
        80,
        "The port.",
    )
    assert port.declarations == ["a.py:3"]
    assert "value" not in port
    assert vhosts["tls"]["cert"].loc == ["vhosts", "<host>", "tls", "cert"]
    assert options.list.type.get_sub_options(["list"])["port"].loc == ["list", "*", "port"]
    maybe = options.maybe.type.get_sub_options(["maybe"])
    assert maybe["port"].loc == ["maybe", "<name>", "port"]
    assert options.plain.type.get_sub_options(["plain"]) == {}


def test_the_default_placeholder_yields_in_type_merging() -> None:
    sub = types.submodule({"n": Option(types.int, default=1)})
    named = types.attrs_with(sub, placeholder="id")
    merged = types.attrs_of(types.submodule({})).type_merge(named)
    assert merged is not None and merged.placeholder == "id"
    assert named.type_merge(types.attrs_with(sub, placeholder="other")) is None
    assert sorted(merged.get_sub_options(["x"])) == ["n"]


def test_attr_tag_sub_options_and_the_doc_list(modules: Any) -> None:
    files = modules(
        a__py="""
        from declos.config import Option, types
        def tagged(extra):
            return types.attrs_of(types.attr_tag({"n": Option(types.int), **extra}))
        options = {"t": Option(tagged({"s": Option(types.str, description="S")}))}
        imports = [{"options": {"t": Option(tagged({}), description="T")}}]
        """
    )
    options = evaluate(files, bare=True).options
    tags = options.t.type.get_sub_options(["t"])
    assert sorted(tags) == ["n", "s"]
    assert tags["n"].loc == ["t", "<name>", "n"]
    assert [p["line"] for p in tags["n"].declarationPositions] == [3, 3]
    assert [p["line"] for p in options.t.declarationPositions] == [4, 5]
    records = {r["name"]: r for r in LIB.option_attr_set_to_doc_list(options)}
    assert records["t.<name>.s"] == {
        "loc": ["t", "<name>", "s"],
        "name": "t.<name>.s",
        "description": "S",
        "declarations": ["a.py:4"],
        "internal": False,
        "visible": True,
        "readOnly": False,
        "type": "string",
    }
    assert records["t"]["description"] == "T"


def test_option_docs_list_attr_tag_tags(modules: Any) -> None:
    files = modules(
        a__py="""
        from declos.config import Option, types
        options = {"t": Option(types.attr_tag({"n": Option(types.int, description="N")}))}
        """
    )
    records = option_records(evaluate(files, bare=True))
    assert [(r["name"], r["type"]) for r in records if r["name"].startswith("t")] == [
        ("t", "attribute-tagged union with choices: n"),
        ("t.n", "signed integer"),
    ]
