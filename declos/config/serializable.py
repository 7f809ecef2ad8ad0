"""NixOS `types.serializableValueWith { typeName, nullable }` and its instances `json`
and `toml`: values a serialisation format can hold, merged like NixOS's `oneOf`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import PurePath
from typing import Any

from declos.config.errors import EvaluationError
from declos.config.merge import merge_equal
from declos.config.messages import Definition, show_defs, show_path
from declos.config.typebase import OptionType
from declos.config.typesys import AttrsOf, ListOf


def _atom(value: Any) -> str | None:
    """Which leaf type of the format `value` is (None: not a leaf)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, PurePath):
        return "path"
    return None


class SerializableValue(OptionType):
    """null (when nullable), booleans, integers, floats, strings, paths, and attribute
    sets and lists of such values; description "TYPENAME value"."""

    name = "nullOr"
    description_class = "noun"

    def __init__(self, type_name: str, nullable: bool = True) -> None:
        self.type_name, self.nullable = type_name, nullable
        self.description = f"{type_name} value"
        self.attrs = AttrsOf(self)
        self.list = ListOf(self)

    def check(self, value: Any) -> bool:
        if value is None:
            return self.nullable
        return (
            _atom(value) is not None
            or isinstance(value, Mapping)
            or isinstance(value, list | tuple)
        )

    def merge(self, ev: Any, loc: Sequence[str], defs: Sequence[Definition]) -> Any:
        nulls = sum(1 for v, _ in defs if v is None)
        if nulls == len(defs):
            return None
        if nulls:
            raise EvaluationError(
                f"The option `{show_path(loc)}` is defined both null and not null, in "
                f"{' and '.join(f'`{m.where(loc)}' + chr(39) for _, m in defs)}."
            )
        kinds = {_atom(v) or ("attrs" if isinstance(v, Mapping) else "list") for v, _ in defs}
        if kinds == {"attrs"}:
            return self.attrs.merge(ev, loc, defs)
        if kinds == {"list"}:
            return self.list.merge(ev, loc, defs)
        if len(kinds) == 1:
            return merge_equal(loc, defs)
        raise EvaluationError(
            f"The option `{show_path(loc)}' is not of type `{self.description}'. Definition "
            f"values:{show_defs(defs, loc)}\nHint: make every definition the same kind of value."
        )

    def empty_value(self, ev: Any, loc: Sequence[str]) -> Any:
        return None if self.nullable else super().empty_value(ev, loc)

    def _params(self) -> tuple[Any, ...]:
        return (self.type_name, self.nullable)
