from declos.config import Option, lazy, types


def _result(config):
    assert config.submoduleWithDefaults == {"enabled": True, "count": 13}
    return "ok"


options = {
    "list": Option(types.list_of(types.int)),
    "attrs": Option(types.attrs),
    "attrsOf": Option(types.attrs_of(types.int)),
    "null": Option(types.null_or(types.int)),
    "submodule": Option(types.submodule({})),
    "submoduleWithDefaults": Option(
        types.submodule({"enabled": Option(types.bool, True), "count": Option(types.int, 13)})
    ),
    "unique": Option(types.unique(types.list_of(types.int), "hi")),
    "coercedTo": Option(
        types.coerced_to(types.attrs_of(types.int), lambda v: sorted(v), types.list_of(types.str))
    ),
    "int": Option(types.int),
    "result": Option(types.str, default=lazy(_result)),
}
