"""lib/tests/modules/merge-module-with-key.nix."""

from declos.config import Option, types

module_without_key = {"config": {"raw": "pear"}}
module_with_key = {"key": __file__ + "#moduleWithKey", "config": {"raw": "pear"}}
decl = {"options": {"raw": Option(types.lines)}}
options = {
    "once": Option(types.submodule({"imports": [decl, module_with_key, module_with_key]}), {}),
    "twice": Option(
        types.submodule({"imports": [decl, module_without_key, module_without_key]}), {}
    ),
}
