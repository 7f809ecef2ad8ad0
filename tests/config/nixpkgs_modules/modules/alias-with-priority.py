"""lib/tests/modules/alias-with-priority.nix.

(translated; `warnings` comes from the core module)"""

from declos.config import Option, mk_alias_option_module, mk_default, types

options = {
    "enable": Option(types.null_or(types.bool), None, "Some descriptive text", example=True),
}
# `warnings` is not declared here: declos' core module declares it (with this default).
imports = [
    mk_alias_option_module(["enableAlias"], ["enable"]),
    {"config": {"enableAlias": mk_default(False)}},
    {"config": {"enable": True}},
]
