"""Value containers produced by merges, and conversion to plain Python / JSON.

Merged attribute sets are `AttrDict`s (a dict that also answers attribute access) so
Python module bodies and Jinja templates can write `cfg.users.alice.home`; `ev.value()`
turns everything back into plain dicts and lists.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from declos.config.errors import EvaluationError, MissingAttributeError
from declos.config.merge import merge_definitions, value_or_empty
from declos.config.messages import show_path
from declos.config.properties import Lazy


class AttrDict(dict):
    """A dict whose keys can also be read as attributes."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            if name.startswith("__"):
                raise AttributeError(name) from None
            raise MissingAttributeError(
                f"attribute `{name}' missing (have: {', '.join(map(str, self)) or 'none'})"
            ) from None


class LazyAttrs(Mapping):
    """The value of a `lazy_attrs_of` option: keys known at once, each value merged on first read.

    Values may refer to sibling keys; a key that refers to itself is a cycle.
    """

    def __init__(
        self, ev: Any, loc: tuple[str, ...], elem: Any, keyed: dict[str, list[Any]]
    ) -> None:
        self._ev = ev
        self._loc = loc
        self._elem = elem
        self._defs = keyed
        self._values: dict[str, Any] = {}
        self._busy: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        if key in self._values:
            return self._values[key]
        if key not in self._defs:
            raise MissingAttributeError(f"attribute `{key}' missing in `{show_path(self._loc)}'")
        loc = (*self._loc, key)
        if key in self._busy:
            raise EvaluationError(
                f"infinite recursion: the value of `{show_path(loc)}' refers to itself."
                "\nHint: a lazy_attrs_of value may read sibling keys, but not its own key."
            )
        self._busy.add(key)
        try:
            merged = merge_definitions(self._ev, loc, self._elem, self._defs[key])
            value = value_or_empty(self._elem, loc, merged, self._ev)
        finally:
            self._busy.discard(key)
        self._values[key] = value
        return value

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._defs)

    def __len__(self) -> int:
        return len(self._defs)

    def __contains__(self, key: object) -> bool:
        return key in self._defs


def deep_resolve(ev: Any, loc: Sequence[str], value: Any, module: Any) -> Any:
    """Evaluate lazy values (and Jinja strings) anywhere inside an unprocessed value."""
    if isinstance(value, Lazy):
        return deep_resolve(ev, loc, ev.resolve_lazy(value, module, loc), module)
    if isinstance(value, dict):
        if not any(isinstance(v, (Lazy, dict, list)) for v in value.values()):
            return value
        return AttrDict((k, deep_resolve(ev, loc, v, module)) for k, v in value.items())
    if isinstance(value, list):
        if not any(isinstance(v, (Lazy, dict, list)) for v in value):
            return value
        return [deep_resolve(ev, loc, v, module) for v in value]
    return value


def to_plain(value: Any) -> Any:
    """Fully forced plain values: dict/list/str/int/float/bool/None; derivations kept."""
    if isinstance(value, Mapping) and not _is_derivation(value):
        return {k: to_plain(value[k]) for k in value}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    return value


def to_json(value: Any) -> Any:
    """Like `to_plain`, but derivations become their store path and other objects their str()."""
    if _is_derivation(value):
        return value.out_path
    if isinstance(value, Mapping):
        return {str(k): to_json(value[k]) for k in value}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _is_derivation(value: Any) -> bool:
    return isinstance(getattr(value, "out_path", None), str)
