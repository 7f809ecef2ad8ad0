from declos.config import Option, mk_definition, mk_force, mk_merge, mk_option_default, types

imports = [
    {
        "_file": "file",
        "options": {"conflict": Option(default=1)},
        "config": {"conflict": mk_definition(file="other", value=mk_option_default(42))},
    },
    {
        # mk_definition in config
        "options": {"viaConfig": Option()},
        "config": {"viaConfig": mk_definition(file="other", value=True)},
    },
    {
        # mk_merge can wrap mk_definitions
        "options": {"mkMerge": Option(types.bool)},
        "config": {
            "mkMerge": mk_merge(
                [mk_definition(file="a.nix", value=True), mk_definition(file="b.nix", value=True)]
            )
        },
    },
    {
        # mk_definition with mk_force on the value
        "options": {"mkForce": Option(types.bool, default=False)},
        "config": {"mkForce": mk_definition(file="other", value=mk_force(True))},
    },
    {
        # NixOS: mk_definition does not work in an option default (an error, as there)
        "options": {
            "viaOptionDefault": Option(types.bool, default=mk_definition(file="other", value=True))
        },
    },
]
