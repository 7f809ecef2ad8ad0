from declos.config import Option, lazy, types

# types-valueMeta.nix: the results are defaults computed from `options` in Nix; declos
# declares options before any argument exists, so the config function defines them.
options = {
    "str": Option(types.str),
    "attrsOf": Option(types.attrs_of(types.str), default={"foo": "foo", "bar": "bar"}),
    "attrsOfResult": Option(),
    "listOf": Option(types.list_of(types.str), default=["foo", "bar"]),
    "listOfResult": Option(),
    "submoduleOf": Option(types.submodule({"str": Option(types.str)})),
}


def config(options):
    return {
        "attrsOfResult": lazy(lambda: sorted(options.attrsOf.valueMeta.attrs)),
        "listOfResult": lazy(lambda: len(options.listOf.valueMeta.list)),
    }
