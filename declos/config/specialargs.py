"""`--arg NAME VALUE` / `--argstr NAME VALUE`: special args given on the command line.

As with `nix-build --arg`, `--arg` takes a value (here a YAML/JSON scalar, list or
mapping: `3`, `true`, `[a, b]`), `--argstr` a plain string. The names must be Python
identifiers: module functions receive them as parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from declos.config.errors import EvaluationError

RESERVED = ("config", "options", "lib", "name")
"""Names the module system gives itself; special args cannot replace them."""


def parse_special_args(
    args: Sequence[Sequence[str]] | None, argstrs: Sequence[Sequence[str]] | None
) -> dict[str, Any]:
    """{name: value} from `--arg` (YAML values) and `--argstr` (strings) pairs."""
    out: dict[str, Any] = {}
    for kind, pairs in (("--arg", args or ()), ("--argstr", argstrs or ())):
        for name, text in pairs:
            if not name.isidentifier() or name in RESERVED:
                raise EvaluationError(
                    f"{kind} {name}: the name must be a Python identifier other than "
                    f"{', '.join(RESERVED)} (module functions receive it as a parameter)."
                )
            out[name] = _value(name, text) if kind == "--arg" else text
    return out


def _value(name: str, text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise EvaluationError(
            f"--arg {name}: {text!r} is not a YAML value ({getattr(exc, 'problem', exc)}).\n"
            "Hint: use --argstr for a plain string."
        ) from None
