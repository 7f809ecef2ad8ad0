"""Core options every evaluation of `evaluate()` has, even `--bare`: `assertions` and
`warnings` (and, imported, the module system's own `_module` options).

They are checked by `evaluate()` itself: failed assertions stop the evaluation with all
their messages, warnings are collected once each in `Evaluation.warnings`.
`lib.eval_modules` evaluations have only the `_module` options, as NixOS's evalModules.
"""

from pathlib import Path

from declos.config import types
from declos.config.option import Option

imports = [Path(__file__).with_name("moduleoptions.py")]

options = {
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
