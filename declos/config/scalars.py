"""Leaf option types: values checked whole, equal definitions merge (NixOS's scalar types).

`Scalar` and its kinds (integer ranges, enums, patterns, paths), separated strings,
packages, `raw` and `boolByOr`. `declos.config.types` binds them to their Python names.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import PurePath
from typing import Any

from declos.config.merge import merge_equal, merge_one
from declos.config.messages import Definition
from declos.config.render import escape_nix_string, render_atom
from declos.config.typebase import OptionType
from declos.store.location import is_store_path, store_dir


class Scalar(OptionType):
    """A type whose equal-priority definitions must all be equal."""

    def __init__(
        self,
        name: str,
        description: str,
        check: Callable[[Any], bool],
        description_class: str | None = "noun",
    ) -> None:
        self.name = name
        self.description = description
        self.description_class = description_class
        self._check = check

    def check(self, value: Any) -> bool:
        return self._check(value)

    def _params(self) -> tuple[Any, ...]:
        return (self.name, self.description)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_str(v: Any) -> bool:
    return isinstance(v, str)


class IntRange(Scalar):
    def __init__(
        self, lo: int | None, hi: int | None, description: str, description_class: str = "noun"
    ) -> None:
        def check(v: Any) -> bool:
            return _is_int(v) and (lo is None or v >= lo) and (hi is None or v <= hi)

        super().__init__("intBetween", description, check, description_class)
        self.lo, self.hi = lo, hi

    def _params(self) -> tuple[Any, ...]:
        return (self.lo, self.hi)


def ints_between(lo: int, hi: int) -> IntRange:
    return IntRange(lo, hi, f"integer between {lo} and {hi} (both inclusive)")


class Enum(Scalar):
    def __init__(self, values: Sequence[Any]) -> None:
        self.values = list(values)
        if not self.values:
            description = "impossible (empty enum)"
        elif len(self.values) == 1:
            description = f"value {_show_atom(self.values[0])} (singular enum)"
        else:
            description = "one of " + ", ".join(_show_atom(v) for v in self.values)
        klass = "noun" if len(self.values) < 2 else "conjunction"
        super().__init__("enum", description, self._member, klass)

    def _member(self, v: Any) -> bool:
        return any(v == x and type(v) is type(x) for x in self.values)

    def type_merge(self, other: OptionType) -> OptionType | None:
        if isinstance(other, Enum):
            return Enum(self.values + [v for v in other.values if v not in self.values])
        return None


def _show_atom(v: Any) -> str:
    """NixOS enum's `show`: strings quoted, ints and bools as written, anything else as
    `<TYPE>` in Nix's type names (`<null>`, `<float>`, `<list>`, `<set>`)."""
    if isinstance(v, bool | int | str):
        return render_atom(v)
    kinds = ((type(None), "null"), (float, "float"), (list | tuple, "list"), (dict, "set"))
    return next((f"<{name}>" for kind, name in kinds if isinstance(v, kind)), "<lambda>")


class StrMatching(Scalar):
    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        compiled = re.compile(pattern)
        super().__init__(
            f"strMatching {escape_nix_string(pattern)}",
            f"string matching the pattern {pattern}",
            lambda v: isinstance(v, str) and compiled.fullmatch(v) is not None,
        )

    def _params(self) -> tuple[Any, ...]:
        return (self.pattern,)


class SeparatedString(OptionType):
    """Strings joined with a separator in definition order (`lines`, `commas`)."""

    name = "separatedString"

    def __init__(self, sep: str) -> None:
        self.sep = sep
        self.description = f"strings concatenated with {json.dumps(sep)}"
        self.description_class = "noun"

    def check(self, value: Any) -> bool:
        return isinstance(value, str)

    def merge(self, ev: Any, loc: Sequence[str], defs: Sequence[Definition]) -> Any:
        return self.sep.join(v for v, _ in defs)

    def _params(self) -> tuple[Any, ...]:
        return (self.sep,)


class Package(OptionType):
    name = "package"
    description = "package"
    description_class = "noun"

    def check(self, value: Any) -> bool:
        if isinstance(getattr(value, "out_path", None), str):
            return True
        if isinstance(value, str):
            return is_store_path(value)
        return False

    def merge(self, ev: Any, loc: Sequence[str], defs: Sequence[Definition]) -> Any:
        return merge_one(loc, defs)


class Raw(OptionType):
    name = "raw"
    description = "raw value"
    description_class = "noun"

    def merge(self, ev: Any, loc: Sequence[str], defs: Sequence[Definition]) -> Any:
        return merge_one(loc, defs)


class BoolByOr(OptionType):
    name = "boolByOr"
    description = "boolean (merged using or)"
    description_class = "noun"

    def check(self, value: Any) -> bool:
        return isinstance(value, bool)

    def merge(self, ev: Any, loc: Sequence[str], defs: Sequence[Definition]) -> Any:
        return any(v for v, _ in defs)


class PathWith(Scalar):
    """NixOS `pathWith { inStore, absolute }`: a path, maybe required (not) to be in the
    store and (not) to be absolute; None leaves that side open. A `pathlib` path (Nix's
    path value, which could be copied into the store later) is refused when the path
    must not be in the store. `path`, `path_in_store` and `external_path` are instances."""

    def __init__(self, in_store: bool | None = None, absolute: bool | None = None) -> None:
        if in_store is not None and absolute is not None and in_store and not absolute:
            raise ValueError("In pathWith, inStore means the path must be absolute")
        self.in_store, self.absolute = in_store, absolute
        description = (
            ("" if absolute is None else "absolute " if absolute else "relative ")
            + "path"
            + (
                ""
                if in_store is None
                else " in the Nix store"
                if in_store
                else " not in the Nix store"
            )
        )
        super().__init__("path", description, self._check_path)

    def _check_path(self, value: Any) -> bool:
        if isinstance(value, PurePath):
            if self.in_store is False:
                return False
            text = str(value)
        elif isinstance(value, str):
            text = value
        elif self.in_store is not False and isinstance(getattr(value, "out_path", None), str):
            text = value.out_path  # a package is string-like (its output path)
        else:
            return False
        if self.in_store is not None and self.in_store != has_store_path_prefix(text):
            return False
        return self.absolute is None or self.absolute == text.startswith("/")

    def merge(self, ev: Any, loc: Sequence[str], defs: Sequence[Definition]) -> Any:
        """As NixOS (`mergeEqualOption`); a `pathlib` path becomes its string, the value
        code reading the option works with (declos copies nothing into the store here)."""
        value = merge_equal(loc, defs)
        return str(value) if isinstance(value, PurePath) else value

    def _params(self) -> tuple[Any, ...]:
        return (self.in_store, self.absolute)


_CA_NAME = re.compile(r"[0-9a-z]{52}")


def has_store_path_prefix(text: str) -> bool:
    """NixOS `lib.path.hasStorePathPrefix` on `/. + text`: the path, made absolute and
    normalised, is below a store entry (`STORE/<32 chars>-<name>`), or starts with a
    content-addressed name (52 base-32 characters)."""
    components: list[str] = []
    for part in text.split("/"):
        if part == "..":
            if components:
                components.pop()
        elif part not in ("", "."):
            components.append(part)
    store = [p for p in store_dir().split("/") if p]
    if components[: len(store)] == store and len(components) > len(store):
        entry = components[len(store)]
        if len(entry) > 33 and entry[32] == "-":
            return True
    return bool(components) and _CA_NAME.fullmatch(components[0]) is not None
