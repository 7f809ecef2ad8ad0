from declos.config import Option, mk_merge, types

options = {
    "submodule": Option(
        types.submodule_with(modules=[{"options": {"inner": Option(types.bool, False)}}]),
        default={},
    )
}
config = {
    "submodule": mk_merge(
        [{"options": {"outer": Option(types.bool, False)}}, {"inner": True, "outer": True}]
    )
}
