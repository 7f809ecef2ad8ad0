"""Definition properties: the wrappers that change how a definition takes part in a merge.

They are plain data, like NixOS's `{ _type = "override"; ... }` attrsets, so that a YAML
tag and a Python helper produce the same thing and the evaluator can discharge them in
one place (`declos.config.merge`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

DEFAULT_PRIORITY = 100
"""Priority of a plain definition (NixOS `defaultOverridePriority`)."""
FORCE_PRIORITY = 50
DEFAULT_VALUE_PRIORITY = 1000
OPTION_DEFAULT_PRIORITY = 1500
"""Priority of an option's `default` (NixOS `mkOptionDefault`)."""
DEFAULT_ORDER = 1000
BEFORE_ORDER = 500
AFTER_ORDER = 1500


class Property:
    """Base class of every definition wrapper; lets the hot path test `isinstance` once."""

    __slots__ = ()


class Override(Property):
    """A definition with an explicit priority: only the lowest number survives."""

    __slots__ = ("priority", "content")

    def __init__(self, priority: int, content: Any) -> None:
        self.priority = priority
        self.content = content

    def __repr__(self) -> str:
        return f"mk_override({self.priority}, {self.content!r})"

    def written(self, show: Callable[[Any], str]) -> str:
        return f"mk_override({self.priority}, {show(self.content)})"


class Order(Property):
    """A list/lines contribution with a sort key (stable; default 1000)."""

    __slots__ = ("priority", "content")

    def __init__(self, priority: int, content: Any) -> None:
        self.priority = priority
        self.content = content

    def __repr__(self) -> str:
        return f"mk_order({self.priority}, {self.content!r})"

    def written(self, show: Callable[[Any], str]) -> str:
        return f"mk_order({self.priority}, {show(self.content)})"


class If(Property):
    """A definition that exists only when its condition is true.

    The condition may itself be lazy (a `lazy(...)` or a Jinja expression): it is then
    evaluated only when the option is forced, which lets it read the whole config.
    """

    __slots__ = ("condition", "content")

    def __init__(self, condition: Any, content: Any) -> None:
        self.condition = condition
        self.content = content

    def __repr__(self) -> str:
        return f"mk_if({self.condition!r}, {self.content!r})"

    def written(self, show: Callable[[Any], str]) -> str:
        return f"mk_if({show(self.condition)}, {show(self.content)})"


class Merge(Property):
    """Several definitions written in one place."""

    __slots__ = ("contents",)

    def __init__(self, contents: Sequence[Any]) -> None:
        self.contents = list(contents)

    def __repr__(self) -> str:
        return f"mk_merge({self.contents!r})"

    def written(self, show: Callable[[Any], str]) -> str:
        return "mk_merge([" + ", ".join(show(v) for v in self.contents) + "])"


class Lazy(Property):
    """A value computed only when its option is forced, after its module returned.

    `fn` takes no argument, or one: the configuration view of the evaluation the
    definition belongs to. Templates (Jinja strings) are a subclass.
    """

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn

    def __repr__(self) -> str:
        return f"lazy({getattr(self.fn, '__name__', 'fn')})"

    def written(self, show: Callable[[Any], str]) -> str:
        return "«lazy»"


class DefinitionAt(Property):
    """A definition that says which file made it (NixOS `mkDefinition { file, value }`):
    messages name `file` instead of the defining module. Unwrapped in definitions and
    in `mk_merge`; as in NixOS, not in an option's `default`."""

    __slots__ = ("file", "value")

    def __init__(self, file: str, value: Any) -> None:
        self.file = file
        self.value = value

    def __repr__(self) -> str:
        return f"mk_definition(file={self.file!r}, value={self.value!r})"

    def written(self, show: Callable[[Any], str]) -> str:
        return f"mk_definition {{ file = {show(self.file)}; value = {show(self.value)}; }}"


def mk_definition(file: str, value: Any) -> DefinitionAt:
    """NixOS `mkDefinition { file, value }`."""
    if not isinstance(file, str):
        raise TypeError(f"mk_definition: `file' must be a string, not {file!r}")
    return DefinitionAt(file, value)


def map_definition_value(fn: Callable[[Any], Any], definition: Any) -> Any:
    """NixOS `lib.modules.mapDefinitionValue`: `fn` applied to the value(s) inside a
    definition's properties (mk_merge, mk_if, mk_override, mk_order, mk_definition),
    the properties kept; a plain value is `fn(value)`."""
    if isinstance(definition, Merge):
        return Merge([map_definition_value(fn, d) for d in definition.contents])
    if isinstance(definition, If):
        return If(definition.condition, map_definition_value(fn, definition.content))
    if isinstance(definition, Override):
        return Override(definition.priority, map_definition_value(fn, definition.content))
    if isinstance(definition, Order):
        return Order(definition.priority, map_definition_value(fn, definition.content))
    if isinstance(definition, DefinitionAt):
        return DefinitionAt(definition.file, map_definition_value(fn, definition.value))
    return fn(definition)


def mk_override(priority: int, value: Any) -> Override:
    return Override(priority, value)


def mk_default(value: Any) -> Override:
    return Override(DEFAULT_VALUE_PRIORITY, value)


def mk_force(value: Any) -> Override:
    return Override(FORCE_PRIORITY, value)


def mk_option_default(value: Any) -> Override:
    return Override(OPTION_DEFAULT_PRIORITY, value)


def mk_order(priority: int, value: Any) -> Order:
    return Order(priority, value)


def mk_before(value: Any) -> Order:
    return Order(BEFORE_ORDER, value)


def mk_after(value: Any) -> Order:
    return Order(AFTER_ORDER, value)


def mk_if(condition: Any, value: Any) -> If:
    return If(condition, value)


def mk_merge(values: Sequence[Any]) -> Merge:
    return Merge(values)


def lazy(fn: Callable[..., Any]) -> Lazy:
    return Lazy(fn)
