from declos.config import Option, lazy, types

# `anOption = config.theOption`: a declaration that is a configuration value is
# `lazy(lambda config: ...)` in declos (computed when the option is first read).
options = {
    "theOption": Option(types.option_declaration),
    "anOption": lazy(lambda config: config.theOption),
    "aBadOptionDef": Option(
        types.option_declaration,
        description="This option is perfectly fine, but will have a bad definition.",
    ),
}


def config(options):
    return {
        "theOption": Option(types.int),
        "anOption": 10,
        "aBadOptionDef": options.theOption,  # not a declaration
    }
