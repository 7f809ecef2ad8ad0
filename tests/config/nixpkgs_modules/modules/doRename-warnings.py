"""lib/tests/modules/doRename-warnings.nix."""

from declos.config import Option, lazy, mk_renamed_option_module, types

imports = [mk_renamed_option_module(["a", "b"], ["c", "d", "e"])]
options = {
    "warnings": Option(types.list_of(types.str)),
    "c.d.e": Option(),
    "result": Option(),
}


def config(config):
    return {"a.b": 1234, "result": lazy(lambda: "%".join(config.warnings))}
