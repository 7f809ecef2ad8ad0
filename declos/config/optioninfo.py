"""`options.X` as NixOS shows it: one declared option as an attribute set.

NixOS modules and tools read an option's declaration through `options`
(`options.services.foo.type.description`, `options.x.defaultText.text`,
`options.x.value`); this view gives those attributes, under NixOS's names, for one
option slot. Only `value` and `valueMeta` force values (`files` runs the modules that
have not run yet, to know every definition).
"""

from __future__ import annotations

from typing import Any

from declos.config.attrview import OptionAttrs, declaration_positions
from declos.config.errors import EvaluationError, MissingAttributeError
from declos.config.modules import DeclarationSite
from declos.config.option import NO_VALUE
from declos.config.properties import Lazy, mk_option_default
from declos.config.render import LiteralExpression
from declos.config.typesys import FromConfig
from declos.config.valuemeta import value_meta
from declos.config.values import AttrDict


def literal(text: Any) -> Any:
    """NixOS `literalExpression` as a value: `{_type = "literalExpression"; text = ...;}`."""
    return AttrDict(_type="literalExpression", text=str(text))


class OptionInfo(OptionAttrs):
    """The option attribute set of one slot (NixOS's `options.X`)."""

    __slots__ = ("_slot", "_keys")

    _STATIC = (
        "_type",
        "loc",
        "type",
        "declarations",
        "declarationPositions",
        "files",
        "readOnly",
        "internal",
        "visible",
        "value",
        "valueMeta",
    )

    def __init__(self, slot: Any) -> None:
        self._slot = slot
        if isinstance(slot.type, FromConfig) and slot.conflict is None:
            slot.ev.declare_from_config(slot)
        keys = list(self._STATIC)
        for name, key in (
            ("description", "description"),
            ("default", "default"),
            ("default_text", "defaultText"),
            ("example", "example"),
        ):
            if self._declared(name) is not NO_VALUE:
                keys.append(key)
        self._keys = tuple(keys)

    def _declared(self, name: str) -> Any:
        """The attribute from the first declaration that sets it (None is a real default)."""
        for option, _ in self._slot.decls:
            value = getattr(option, name)
            if value is NO_VALUE or (value is None and name not in ("default", "example")):
                continue
            return value
        return NO_VALUE

    def __getitem__(self, key: str) -> Any:
        slot = self._slot
        if slot.conflict is not None:
            raise EvaluationError(slot.conflict)
        if key not in self._keys:
            raise MissingAttributeError(
                f"attribute `{key}' missing in option `{'.'.join(slot.path)}' "
                f"(have: {', '.join(self._keys)})"
            )
        if key == "_type":
            return "option"
        if key == "loc":
            return list(slot.path)
        if key == "type":
            return slot.type
        if key == "declarations":
            return list(dict.fromkeys(option.where() for option, _ in slot.decls))
        if key == "declarationPositions":
            return declaration_positions(option for option, _ in slot.decls)
        if key == "files":  # the files that define it, each once (all modules run first)
            if slot.ev.pending_left:
                slot.ev.run_pending()
            return list(dict.fromkeys(module.display() for _, module in slot.defs))
        if key == "readOnly":
            return slot.read_only
        if key == "internal":
            return any(option.internal for option, _ in slot.decls)
        if key == "visible":
            return next((o.visible for o, _ in slot.decls if o.visible is not True), True)
        if key == "value":
            return slot.ev.force(slot)
        if key == "valueMeta":
            return value_meta(slot.ev, slot.path, slot.type, self._definitions())
        if key == "defaultText":
            return literal(self._declared("default_text"))
        value = self._declared(key)
        if key == "default" and isinstance(value, Lazy):
            _, module = next((o, m) for o, m in slot.decls if o.default is value)
            return slot.ev.resolve_lazy(value, module, slot.path)
        if key == "example" and isinstance(value, LiteralExpression):
            return literal(value)
        return value

    def _definitions(self) -> list[Any]:
        """The option's definitions (all modules run), its default first as NixOS does."""
        slot = self._slot
        if slot.ev.pending_left:
            slot.ev.run_pending()
        option = slot.default_option
        default = (
            [] if option is None else [(mk_option_default(option.default), DeclarationSite(option))]
        )
        return default + list(slot.defs)

    def __repr__(self) -> str:
        return f"<option {'.'.join(self._slot.path)}>"
