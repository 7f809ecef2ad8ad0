"""NixOS `type.getSubOptions prefix`: the options a type declares below an option.

Modules and documentation tools read the sub-options of a submodule option without an
instance (`options.users.type.get_sub_options(options.users.loc)`), with the placeholders
NixOS puts in their paths (`<name>`, `*`, `<function body>`). Each sub-option is shown as
its declarations say; nothing is evaluated, so there is no `value`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from declos.config.attrview import OptionAttrs, declaration_positions
from declos.config.errors import MissingAttributeError
from declos.config.modules import Module
from declos.config.option import NO_VALUE, Option
from declos.config.typesys import as_freeform
from declos.config.values import AttrDict


def sub_option_tree(subtype: Any, base: Sequence[str]) -> AttrDict:
    """The options declared by the submodule type `subtype`, at `base`, nested by their
    relative paths.

    Only options declared by module objects of the submodule are listed (dicts, Python
    callables returning dicts); modules given as files or imported from them are not
    loaded here. NixOS's `_module` options are not listed (declos has no such options).
    When the modules give a freeform type, its sub-options are under `_freeformOptions`
    (NixOS's name)."""
    tree = AttrDict()
    name = base[-1] if base else "<name>"
    grouped: dict[tuple[str, ...], list[Option]] = {}
    freeform: Any = None
    for module in subtype.modules_for(name):
        if isinstance(module, Module):
            for rel, option in module.options:
                grouped.setdefault(rel, []).append(option)
            if module.freeform is not None:
                free = module.freeform
                free = as_freeform(free)
                merged = free if freeform is None else freeform.type_merge(free)
                freeform = merged if merged is not None else freeform
    for rel, decls in grouped.items():
        node = tree
        for part in rel[:-1]:
            node = node.setdefault(part, AttrDict())
        node[rel[-1]] = SubOption((*base, *rel), decls)
    if freeform is not None:
        tree["_freeformOptions"] = freeform.get_sub_options(base)
    return tree


class SubOption(OptionAttrs):
    """One sub-option as an attribute set (NixOS's option set, without `value`)."""

    __slots__ = ("_loc", "_decls", "_keys")

    _STATIC = (
        "_type",
        "loc",
        "type",
        "declarations",
        "declarationPositions",
        "readOnly",
        "internal",
        "visible",
    )

    def __init__(self, loc: tuple[str, ...], decls: Sequence[Option]) -> None:
        self._loc = loc
        self._decls = list(decls)
        names = (
            ("description", "description"),
            ("default", "default"),
            ("default_text", "defaultText"),
            ("example", "example"),
        )
        extra = [key for name, key in names if self._declared(name) is not NO_VALUE]
        self._keys = (*self._STATIC, *extra)

    def _declared(self, name: str) -> Any:
        for option in self._decls:
            value = getattr(option, name)
            if value is NO_VALUE or (value is None and name not in ("default", "example")):
                continue
            return value
        return NO_VALUE

    def _type(self) -> Any:
        """The declarations' merged type (the first one's when they do not merge)."""
        merged = self._decls[0].type
        for option in self._decls[1:]:
            both = merged.type_merge(option.type)
            if both is None:
                return self._decls[0].type
            merged = both
        return merged

    def __getitem__(self, key: str) -> Any:
        if key not in self._keys:
            raise MissingAttributeError(
                f"attribute `{key}' missing in sub-option `{'.'.join(self._loc)}' "
                f"(have: {', '.join(self._keys)})"
            )
        if key == "_type":
            return "option"
        if key == "loc":
            return list(self._loc)
        if key == "type":
            return self._type()
        if key == "declarations":
            return list(dict.fromkeys(option.where() for option in self._decls))
        if key == "declarationPositions":
            return declaration_positions(self._decls)
        if key == "readOnly":
            return any(option.read_only for option in self._decls)
        if key == "internal":
            return any(option.internal for option in self._decls)
        if key == "visible":
            return next((o.visible for o in self._decls if o.visible is not True), True)
        return self._declared({"defaultText": "default_text"}.get(key, key))

    def __repr__(self) -> str:
        return f"<sub-option {'.'.join(self._loc)}>"
