"""Core options every evaluation has, even `--bare`: `assertions` and `warnings`.

They are checked by `evaluate()` itself: failed assertions stop the evaluation with all
their messages, warnings are collected once each in `Evaluation.warnings`.
"""

from declos.config import types
from declos.config.option import Option

options = {
    "_module.args": Option(
        types.lazy_attrs_of(types.raw),
        {},
        "Arguments every module function receives by name, in addition to `config`, `pkgs`, "
        "`lib`, `options` and the special args (NixOS `_module.args`). They cannot decide "
        "`imports` (that needs `special_args`).",
        internal=True,
    ),
    "_module.check": Option(
        types.bool,
        True,
        "Whether definitions of options that no module declares are errors (NixOS `_module.check`).",
        internal=True,
    ),
    "assertions": Option(
        types.list_of(
            types.submodule(
                {
                    "assertion": Option(types.bool, description="The condition that must hold."),
                    "message": Option(
                        types.str, description="What to tell the user when it does not hold."
                    ),
                }
            )
        ),
        [],
        "Conditions on the configuration. Evaluation stops with every failed assertion's message.",
        example=[{"assertion": False, "message": "you can't enable this for that reason"}],
        internal=True,
    ),
    "warnings": Option(
        types.list_of(types.str),
        [],
        "Messages printed once (on standard error) after a successful evaluation.",
        example=["The `foo' service is deprecated and will go away soon!"],
        internal=True,
    ),
}
