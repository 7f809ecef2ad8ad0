"""The shape shared by `options.X` and `type.get_sub_options()` entries: NixOS's option
attribute sets, read in Python both as a Mapping and with attribute access."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any


class OptionAttrs(Mapping):
    """An option read as NixOS's attribute set: a Mapping over `_keys` whose entries are
    also attributes (`options.x.type`); subclasses say what each key's value is."""

    __slots__ = ()
    _keys: tuple[str, ...]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


def declaration_positions(options: Any) -> list[dict[str, Any]]:
    """NixOS `declarationPositions`: `{file, line, column}` per declaration (declos knows
    no column: None)."""
    return [
        {"file": option.file_shown(), "line": option.line, "column": None} for option in options
    ]
