from declos.config import Option, types

# option.nix without `anOption = config.theOption` (an option declared by a definition:
# declos declares every option before any configuration exists).
options = {
    "theOption": Option(types.option_declaration),
    "aBadOptionDef": Option(
        types.option_declaration,
        description="This option is perfectly fine, but will have a bad definition.",
    ),
}


def config(options):
    return {
        "theOption": Option(types.int),
        "aBadOptionDef": options.theOption,  # not a declaration
    }
