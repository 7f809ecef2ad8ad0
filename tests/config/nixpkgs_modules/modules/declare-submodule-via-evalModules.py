from declos.config import Option, eval_modules, mk_merge, types

options = {
    "submodule": Option(
        eval_modules(modules=[{"options": {"inner": Option(types.bool, False)}}]).type,
        default={},
    )
}
config = {
    "submodule": mk_merge(
        [{"options": {"outer": Option(types.bool, False)}}, {"inner": True, "outer": True}]
    )
}
