"""Types whose values are parts of the module system itself: option declarations
(NixOS `optionDeclaration`) and option types (NixOS `optionType`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from declos.config.errors import EvaluationError
from declos.config.messages import Definition, show_path
from declos.config.option import Option
from declos.config.typebase import OptionType


class OptionDeclaration(OptionType):
    """NixOS `optionDeclaration`: an `Option` (a declaration, not an option read
    through `options`, which has a value)."""

    name = "optionDeclaration"
    description = "option declaration"
    description_class = "noun"

    def check(self, value: Any) -> bool:
        return isinstance(value, Option)


class OptionTypeType(OptionType):
    """NixOS `optionType`: the value is a type; several definitions merge as declaring
    one option with each type would (`type_merge`), else NixOS's declared-twice error."""

    name = "optionType"
    description = "optionType"
    description_class = "noun"

    def check(self, value: Any) -> bool:
        return isinstance(value, OptionType)

    def merge(self, ev: Any, loc: Sequence[str], defs: Sequence[Definition]) -> Any:
        merged, first_module = defs[0]
        for value, module in defs[1:]:
            combined = merged.type_merge(value)
            if combined is None:
                raise EvaluationError(
                    f"The option `{show_path(loc)}' in `{module.where(loc)}' is already declared "
                    f"in `{first_module.where(loc)}'.\n"
                    "Hint: these option types do not merge (only the same type, submodules and "
                    "enums do)."
                )
            merged = combined
        return merged
