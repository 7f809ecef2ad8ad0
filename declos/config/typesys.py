"""Option types: each has a check, a merge and an empty value, as in NixOS `lib/types.nix`.

This module holds the composite types (lists, attribute sets, either, ...) and re-exports
the protocol (`typebase`) and the leaf types (`scalars`), so `typesys.X` names every type
class. `declos.config.types` exposes instances under their Python names (`types.str`,
`types.list_of(...)`); the classes live apart because those names shadow the builtins.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from declos.config.errors import EvaluationError
from declos.config.merge import (
    ABSENT,
    PRIORITY_HINT,
    check_definitions,
    merge_definitions,
    merge_equal,
    merge_one,
    no_value_error,
    type_error,
)
from declos.config.messages import Definition, show_defs, show_path
from declos.config.properties import Lazy, Property
from declos.config.scalars import (
    BoolByOr,
    Enum,
    IntRange,
    Package,
    PathWith,
    Raw,
    Scalar,
    SeparatedString,
    StrMatching,
    _is_int,
    _is_str,
    ints_between,
)
from declos.config.typebase import (
    NOUN,
    NOUN_COMPOSITE,
    NOUN_CONJUNCTION,
    NOUN_CONJUNCTION_COMPOSITE,
    OptionType,
    phrase,
)
from declos.config.usercode import USER_FAILURES
from declos.config.values import AttrDict, LazyAttrs, deep_resolve


class Unspecified(OptionType):
    """No type given: NixOS `mergeDefaultOption`."""

    description_class = "noun"

    def merge(self, ev: Any, loc: Sequence[str], defs: Sequence[Definition]) -> Any:
        values = [deep_resolve(ev, loc, v, m) for v, m in defs]
        if len(values) == 1:
            return values[0]
        if all(isinstance(v, list) for v in values):
            return [x for v in values for x in v]
        if all(isinstance(v, Mapping) for v in values):
            out: dict[str, Any] = AttrDict()
            for v in values:
                out.update(v)
            return out
        if all(isinstance(v, bool) for v in values):
            return any(values)
        if all(isinstance(v, str) for v in values):
            return "".join(values)
        if (
            all(isinstance(v, int) and not isinstance(v, bool) for v in values)
            and len(set(values)) == 1
        ):
            return values[0]
        raise EvaluationError(
            f"Cannot merge definitions of `{show_path(loc)}'. Definition values:{show_defs(defs, loc)}\n"
            "Hint: give the option a type, or define it only once."
        )


class Attrs(OptionType):
    """A plain attribute set: shallow merge, later definitions win per top-level key."""

    name = "attrs"
    description = "attribute set"

    def check(self, value: Any) -> bool:
        return isinstance(value, Mapping)

    def merge(self, ev: Any, loc: Sequence[str], defs: Sequence[Definition]) -> Any:
        out = AttrDict()
        for value, module in defs:
            out.update(deep_resolve(ev, loc, value, module))
        return out

    def empty_value(self, ev: Any, loc: Sequence[str]) -> Any:
        return AttrDict()


class Anything(OptionType):
    """Any value: attribute sets merge recursively (properties work inside), the rest must agree."""

    name = "anything"
    description = "anything"
    description_class = "noun"

    def merge(self, ev: Any, loc: Sequence[str], defs: Sequence[Definition]) -> Any:
        kinds = {_kind(v) for v, _ in defs}
        if len(kinds) > 1:
            files = " and ".join(f"`{m.where(loc)}'" for _, m in defs)
            raise EvaluationError(
                f"The option `{show_path(loc)}' has conflicting option types in {files}.\n"
                "Hint: every definition must be of the same kind (all attribute sets, all lists, ...)."
            )
        if kinds == {"attrs"}:
            keyed: dict[str, list[Definition]] = {}
            for value, module in defs:
                for key, item in value.items():
                    keyed.setdefault(key, []).append((item, module))
            out = AttrDict()
            for key, kdefs in keyed.items():
                merged = merge_definitions(ev, (*loc, key), self, kdefs)
                if merged is not ABSENT:
                    out[key] = merged
            return out
        if len(defs) == 1:
            return deep_resolve(ev, loc, defs[0][0], defs[0][1])
        if kinds == {"function"}:
            return self._merged_function(ev, loc, defs)
        resolved = [(deep_resolve(ev, loc, v, m), m) for v, m in defs]
        return merge_equal(loc, resolved)

    def _merged_function(self, ev: Any, loc: Sequence[str], defs: Sequence[Definition]) -> Any:
        """NixOS: functions merge into one that calls each and merges the results as
        `anything` (at `LOC.<function body>`)."""
        body = (*loc, "<function body>")

        def merged(*args: Any, **kwargs: Any) -> Any:
            results = [(fn(*args, **kwargs), module) for fn, module in defs]
            return merge_definitions(ev, body, self, results)

        return merged


def _kind(value: Any) -> str:
    if isinstance(value, Mapping) and not hasattr(value, "out_path"):
        return "attrs"
    if isinstance(value, (list, tuple)):
        return "list"
    if callable(value) and not isinstance(value, Lazy):
        return "function"
    return "atom"


class ListOf(OptionType):
    name = "listOf"

    def __init__(self, elem: OptionType) -> None:
        self.elem = elem
        self.description = f"list of {phrase(elem, NOUN_COMPOSITE)}"
        self.description_class = "composite"

    def check(self, value: Any) -> bool:
        return isinstance(value, (list, tuple))

    def merge(self, ev: Any, loc: Sequence[str], defs: Sequence[Definition]) -> Any:
        out: list[Any] = []
        elem = self.elem
        plain = isinstance(elem, Scalar)
        for i, (value, module) in enumerate(defs, 1):
            for j, item in enumerate(value, 1):
                if plain and not isinstance(item, Property):
                    if not elem.check(item):
                        raise type_error(
                            (*loc, f"[definition {i}-entry {j}]"), elem, [(item, module)]
                        )
                    out.append(item)
                    continue
                merged = merge_definitions(
                    ev, (*loc, f"[definition {i}-entry {j}]"), elem, [(item, module)]
                )
                if merged is not ABSENT:
                    out.append(merged)
        return out

    def empty_value(self, ev: Any, loc: Sequence[str]) -> Any:
        return []

    def type_merge(self, other: OptionType) -> OptionType | None:
        if isinstance(other, ListOf):
            elem = self.elem.type_merge(other.elem)
            return ListOf(elem) if elem is not None else None
        return None

    def sub_options(self) -> tuple[str, Any] | None:
        inner = self.elem.sub_options() if not self.elem.nested else ("", self.elem)
        return ("*" + ("." + inner[0] if inner and inner[0] else ""), inner[1]) if inner else None


class NonEmptyListOf(ListOf):
    """A list with at least one element; it has no empty value."""

    name = "nonEmptyListOf"

    def __init__(self, elem: OptionType) -> None:
        super().__init__(elem)
        self.description = f"non-empty {phrase(self, NOUN)}"

    def check(self, value: Any) -> bool:
        return isinstance(value, (list, tuple)) and len(value) > 0

    def empty_value(self, ev: Any, loc: Sequence[str]) -> Any:
        return ABSENT


class AttrsOf(OptionType):
    name = "attrsOf"
    attr_set_valued = True

    def __init__(self, elem: OptionType, lazy: bool = False, placeholder: str = "name") -> None:
        self.elem = elem
        self.lazy = lazy
        self.placeholder = placeholder
        """The name of an attribute in option paths of the docs (`<name>`)."""
        prefix = "lazy attribute set" if lazy else "attribute set"
        self.description = f"{prefix} of {phrase(elem, NOUN_COMPOSITE)}"
        self.description_class = "composite"

    def check(self, value: Any) -> bool:
        return isinstance(value, Mapping)

    def merge(self, ev: Any, loc: Sequence[str], defs: Sequence[Definition]) -> Any:
        keyed: dict[str, list[Definition]] = {}
        for value, module in defs:
            for key, item in value.items():
                entry = keyed.get(key)
                if entry is None:
                    keyed[key] = [(item, module)]
                else:
                    entry.append((item, module))
        if self.lazy:
            return LazyAttrs(ev, tuple(loc), self.elem, keyed)
        elem = self.elem
        plain = isinstance(elem, Scalar)
        out = AttrDict()
        for key, kdefs in keyed.items():
            if plain and len(kdefs) == 1 and not isinstance(kdefs[0][0], Property):
                item = kdefs[0][0]
                if not elem.check(item):
                    raise type_error((*loc, key), elem, kdefs)
                out[key] = item
                continue
            merged = merge_definitions(ev, (*loc, key), elem, kdefs)
            if merged is not ABSENT:
                out[key] = merged
        return out

    def empty_value(self, ev: Any, loc: Sequence[str]) -> Any:
        return AttrDict()

    def type_merge(self, other: OptionType) -> OptionType | None:
        """Same laziness; placeholders equal, or NixOS's default `name` yields to the other."""
        if not isinstance(other, AttrsOf) or other.lazy != self.lazy:
            return None
        mine, theirs = self.placeholder, other.placeholder
        if mine != theirs and "name" not in (mine, theirs):
            return None
        elem = self.elem.type_merge(other.elem)
        placeholder = theirs if mine == "name" else mine
        return AttrsOf(elem, self.lazy, placeholder) if elem is not None else None

    def sub_options(self) -> tuple[str, Any] | None:
        inner = self.elem.sub_options() if not self.elem.nested else ("", self.elem)
        name = f"<{self.placeholder}>"
        return (name + ("." + inner[0] if inner and inner[0] else ""), inner[1]) if inner else None


class NullOr(OptionType):
    name = "nullOr"

    def __init__(self, elem: OptionType) -> None:
        self.elem = elem
        self.description = f"null or {phrase(elem, NOUN_CONJUNCTION)}"
        self.description_class = "conjunction"

    def check(self, value: Any) -> bool:
        return value is None or self.elem.check(value)

    def merge(self, ev: Any, loc: Sequence[str], defs: Sequence[Definition]) -> Any:
        nulls = [d for d in defs if d[0] is None]
        if len(nulls) == len(defs):
            return None
        if nulls:
            other = next(d for d in defs if d[0] is not None)
            raise EvaluationError(
                f"The option `{show_path(loc)}` is defined both null and not null, in "
                f"`{nulls[0][1].where(loc)}' and `{other[1].where(loc)}'.\n"
                "Hint: remove one of them, or raise the priority of one with !force / mk_force."
            )
        return self.elem.merge(ev, loc, defs)

    def empty_value(self, ev: Any, loc: Sequence[str]) -> Any:
        return None

    def type_merge(self, other: OptionType) -> OptionType | None:
        if isinstance(other, NullOr):
            elem = self.elem.type_merge(other.elem)
            return NullOr(elem) if elem is not None else None
        return None

    def sub_options(self) -> tuple[str, Any] | None:
        return ("", self.elem) if self.elem.nested else self.elem.sub_options()


class Either(OptionType):
    name = "either"

    def __init__(self, left: OptionType, right: OptionType) -> None:
        self.left, self.right = left, right
        if left.description_class == "nonRestrictiveClause":
            self.description = f"{left.description}, or {phrase(right, NOUN_CONJUNCTION)}"
        else:
            self.description = (
                f"{phrase(left, NOUN_CONJUNCTION)} or {phrase(right, NOUN_CONJUNCTION_COMPOSITE)}"
            )
        self.description_class = "conjunction"

    def check(self, value: Any) -> bool:
        return self.left.check(value) or self.right.check(value)

    def merge(self, ev: Any, loc: Sequence[str], defs: Sequence[Definition]) -> Any:
        for t in (self.left, self.right):
            if all(t.check(v) for v, _ in defs):
                return t.merge(ev, loc, defs)
        raise EvaluationError(
            f"The option `{show_path(loc)}' is not of type `{self.description}'. TypeError: "
            f"The option `{show_path(loc)}` is neither a value of type `{self.left.description}` "
            f"nor `{self.right.description}`, Definition values:{show_defs(defs, loc)}\n"
            "Hint: make every definition the same one of these types."
        )

    def type_merge(self, other: OptionType) -> OptionType | None:
        if isinstance(other, Either):
            left, right = self.left.type_merge(other.left), self.right.type_merge(other.right)
            return Either(left, right) if left is not None and right is not None else None
        return None


class FromConfig(OptionType):
    """An option declaration (`whole`) or an option type computed from the configuration
    (NixOS: `anOption = config.theOption`, `type = config.theType`): `lazy(lambda config:
    ...)` in place of the Option or of its type. The evaluation computes it when the
    option is first read (or its `options.X`); until then this stands in the option tree.
    Declarations below such an option, or a second declaration of it, are not supported."""

    name = "fromConfig"
    description = "computed from the configuration"

    def __init__(self, value: Lazy, whole: bool) -> None:
        self.lazy = value
        self.whole = whole

    def type_merge(self, other: OptionType) -> OptionType | None:
        return None


def as_freeform(typ: OptionType) -> OptionType:
    """A module's freeform type as the type of the whole freeform attribute set."""
    return typ if typ.attr_set_valued else AttrsOf(typ)


class Unique(OptionType):
    name = "unique"

    def __init__(self, elem: OptionType, message: str = "") -> None:
        self.elem = elem
        self.message = message
        self.description = elem.description
        self.description_class = elem.description_class

    def check(self, value: Any) -> bool:
        return self.elem.check(value)

    def merge(self, ev: Any, loc: Sequence[str], defs: Sequence[Definition]) -> Any:
        merge_one(loc, defs, self.message)
        return self.elem.merge(ev, loc, defs)

    def empty_value(self, ev: Any, loc: Sequence[str]) -> Any:
        return self.elem.empty_value(ev, loc)

    def type_merge(self, other: OptionType) -> OptionType | None:
        if isinstance(other, Unique):
            elem = self.elem.type_merge(other.elem)
            return Unique(elem, self.message) if elem is not None else None
        return None


class AddCheck(OptionType):
    """`elem` with one more check (NixOS `addCheck`): same description, merge, empty value."""

    def __init__(self, elem: OptionType, extra: Callable[[Any], bool]) -> None:
        self.elem, self.extra = elem, extra
        self.name = elem.name
        self.description = elem.description
        self.description_class = elem.description_class
        self.nested = elem.nested

    def check(self, value: Any) -> bool:
        return self.elem.check(value) and bool(self.extra(value))

    def merge(self, ev: Any, loc: Sequence[str], defs: Sequence[Definition]) -> Any:
        return self.elem.merge(ev, loc, defs)

    def empty_value(self, ev: Any, loc: Sequence[str]) -> Any:
        return self.elem.empty_value(ev, loc)

    def type_merge(self, other: OptionType) -> OptionType | None:
        return None


class CheckedAs(AddCheck):
    """An `add_check` with its own name and description (NixOS `addCheck t f // {name;
    description; descriptionClass}`: passwdEntry, numbers.positive, ...)."""

    def __init__(
        self,
        elem: OptionType,
        extra: Callable[[Any], bool],
        name: str,
        description: str,
        description_class: str | None,
    ) -> None:
        super().__init__(elem, extra)
        self.name = name
        self.description = description
        self.description_class = description_class


class FunctionTo(OptionType):
    """Python callables; the merged value is a function that calls every definition with
    the same arguments and merges the results with `elem` (NixOS `functionTo`)."""

    name = "functionTo"
    description_class = "composite"

    def __init__(self, elem: OptionType) -> None:
        self.elem = elem
        self.description = f"function that evaluates to a(n) {phrase(elem, NOUN_COMPOSITE)}"

    def check(self, value: Any) -> bool:
        return callable(value) and not isinstance(value, Property)

    def merge(self, ev: Any, loc: Sequence[str], defs: Sequence[Definition]) -> Any:
        elem = self.elem
        body = (*loc, "<function body>")  # NixOS's location of the results

        def merged(*args: Any, **kwargs: Any) -> Any:
            results = [(fn(*args, **kwargs), module) for fn, module in defs]
            value = merge_definitions(ev, body, elem, results)
            return elem.empty_value(ev, body) if value is ABSENT else value

        return merged

    def type_merge(self, other: OptionType) -> OptionType | None:
        if isinstance(other, FunctionTo):
            elem = self.elem.type_merge(other.elem)
            return FunctionTo(elem) if elem is not None else None
        return None

    def sub_options(self) -> tuple[str, Any] | None:
        inner = self.elem.sub_options() if not self.elem.nested else ("", self.elem)
        body = "<function body>"
        return (body + ("." + inner[0] if inner and inner[0] else ""), inner[1]) if inner else None


class CoercedTo(OptionType):
    name = "coercedTo"

    def __init__(
        self, from_type: OptionType, fn: Callable[[Any], Any], to_type: OptionType
    ) -> None:
        self.from_type, self.fn, self.to_type = from_type, fn, to_type
        self.description = f"{phrase(to_type, NOUN)} or {phrase(from_type, NOUN)} convertible to it"

    def check(self, value: Any) -> bool:
        return self.to_type.check(self._coerce(value))

    def _coerce(self, value: Any) -> Any:
        """`fn(value)` for a `from_type` value that converts to a `to_type` value; else
        `value` itself (a conversion that raises is a value that is not of this type)."""
        if not self.from_type.check(value):
            return value
        try:
            converted = self.fn(value)
        except USER_FAILURES:  # user code: a failed conversion means "not of this type"
            return value
        return converted if self.to_type.check(converted) else value

    def merge(self, ev: Any, loc: Sequence[str], defs: Sequence[Definition]) -> Any:
        coerced = [(self._coerce(v), m) for v, m in defs]
        check_definitions(loc, self.to_type, coerced)
        return self.to_type.merge(ev, loc, coerced)

    def empty_value(self, ev: Any, loc: Sequence[str]) -> Any:
        return self.to_type.empty_value(ev, loc)

    def type_merge(self, other: OptionType) -> OptionType | None:
        return None


__all__ = [
    "NOUN",
    "NOUN_COMPOSITE",
    "NOUN_CONJUNCTION",
    "NOUN_CONJUNCTION_COMPOSITE",
    "phrase",
    "_is_int",
    "_is_str",
    "AttrsOf",
    "Attrs",
    "Anything",
    "BoolByOr",
    "CoercedTo",
    "Either",
    "Enum",
    "IntRange",
    "ListOf",
    "NonEmptyListOf",
    "NullOr",
    "OptionType",
    "Package",
    "PathWith",
    "Raw",
    "Scalar",
    "SeparatedString",
    "StrMatching",
    "Unique",
    "Unspecified",
    "ints_between",
    "no_value_error",
    "PRIORITY_HINT",
]
