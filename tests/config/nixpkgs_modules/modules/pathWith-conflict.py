from declos.config import Option, types

# pathWith.nix's conflictingPathOptionType: two declarations whose types do not merge.
imports = [
    {"options": {"conflictingPathOptionType": Option(types.path_with(absolute=True))}},
    {"options": {"conflictingPathOptionType": Option(types.path_with(absolute=False))}},
]
config = {"conflictingPathOptionType": "/foo/bar"}
