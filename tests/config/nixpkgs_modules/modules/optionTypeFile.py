# Nix names the declarations in its definition order (other.nix first); declos in its
# own, first listed first (docs/modules.md section 9): the same two locations.
from declos.config import Option, lazy, mk_merge, types

options = {
    "theType": Option(types.option_type),
    "theOption": Option(lazy(lambda config: config.theType), default={}),
}
config = {
    "theType": mk_merge(
        [
            types.submodule({"options": {"nested": Option(types.int)}}),
            types.submodule({"_file": "other.nix", "options": {"nested": Option(types.str)}}),
        ]
    ),
}
