# `shorthandOnlyDefinesConfig = config.shorthandOnlyDefinesConfig` is a `lazy` value:
# computed from the declaring evaluation's config when an instance is made.
from declos.config import Option, lazy, types

options = {
    "bare-submodule": Option(
        types.submodule_with(
            modules=[],
            shorthand_only_defines_config=lazy(lambda config: config.shorthandOnlyDefinesConfig),
        ),
        default={},
    ),
    # config-dependent options: won't recommend, but useful for making this test parameterized
    "shorthandOnlyDefinesConfig": Option(default=False),
}
