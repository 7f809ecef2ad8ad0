from declos.config import Option, lazy, mk_merge, types

# `type = config.theType` is `lazy(lambda config: config.theType)` in declos.
options = {
    "theType": Option(types.option_type),
    "theOption": Option(lazy(lambda config: config.theType)),
}
config = {
    "theType": mk_merge(
        [
            types.submodule({"options": {"int": Option(types.int, default=10)}}),
            types.submodule({"options": {"str": Option(types.str)}}),
        ]
    ),
    "theOption": {"str": "hello"},
}
