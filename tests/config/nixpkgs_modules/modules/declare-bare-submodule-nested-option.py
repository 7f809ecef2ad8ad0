from declos.config import Option, lazy, types

options = {
    "bare-submodule": Option(
        types.submodule_with(
            shorthand_only_defines_config=lazy(lambda config: config.shorthandOnlyDefinesConfig),
            modules=[{"options": {"nested": Option(types.int, default=1)}}],
        )
    )
}
