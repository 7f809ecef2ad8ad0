from declos.config import Option, types

options = {
    "list": Option(types.list_of(types.int)),
    "attrs": Option(types.attrs),
    "attrsOf": Option(types.attrs_of(types.int)),
    "null": Option(types.null_or(types.int)),
    "submodule": Option(
        types.submodule({"enabled": Option(types.bool, True), "count": Option(types.int, 13)})
    ),
    "uniq": Option(types.unique(types.list_of(types.int))),
    "coerced": Option(
        types.coerced_to(
            types.attrs_of(types.int),
            lambda v: [str(x) for x in v.values()],
            types.list_of(types.str),
        )
    ),
}
