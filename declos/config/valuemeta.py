"""`options.X.valueMeta`: what NixOS's merge (v2) reports besides the value.

For an attribute set of T, `{attrs = {NAME = <T's metadata>}}`; for a list of T,
`{list = [<T's metadata per element>]}`; for an attribute list, `{attrList, attrListValue,
definitions}`; for a submodule, `{configuration = <the
instance's evaluation: config, options>}`; `{}` for the other types. Computed when read
(it evaluates the instances again), so evaluations that never read it pay nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from declos.config.errors import MissingAttributeError
from declos.config.evalmodules import EvalResult
from declos.config.merge import live_definitions
from declos.config.messages import Definition
from declos.config.properties import Property, mk_definition, mk_order
from declos.config.submodule import Submodule
from declos.config.tagged import AttrList
from declos.config.typesys import AttrsOf, ListOf
from declos.config.values import AttrDict


def value_meta(ev: Any, loc: Sequence[str], typ: Any, defs: Sequence[Definition]) -> AttrDict:
    """The metadata of one option (or element) of type `typ` with definitions `defs`."""
    live = (
        live_definitions(ev, loc, defs)
        if any(isinstance(v, Property) for v, _ in defs)
        else list(defs)
    )
    if isinstance(typ, Submodule):
        child = ev.submodule_evaluation(typ, loc, live)
        return AttrDict(configuration=EvalResult(lambda: child, typ.module_class))
    if isinstance(typ, AttrsOf):
        keyed: dict[str, list[Definition]] = {}
        for value, module in live:
            for key, item in value.items():
                keyed.setdefault(key, []).append((item, module))
        kept = {k: d for k, d in keyed.items() if live_definitions(ev, (*loc, k), d)}
        if typ.lazy:  # NixOS: per attribute, when read (a bad sibling stays unread)
            return AttrDict(attrs=_LazyMeta(ev, tuple(loc), typ.elem, kept))
        return AttrDict(
            attrs=AttrDict((k, value_meta(ev, (*loc, k), typ.elem, d)) for k, d in kept.items())
        )
    if isinstance(typ, ListOf):
        items = []
        for i, (value, module) in enumerate(live, 1):
            for j, item in enumerate(value, 1):
                at = (*loc, f"[definition {i}-entry {j}]")
                if live_definitions(ev, at, [(item, module)]):
                    items.append(value_meta(ev, at, typ.elem, [(item, module)]))
        return AttrDict(list=items)
    if isinstance(typ, AttrList):
        return _attr_list_meta(ev, loc, typ, live)
    return AttrDict()


class _LazyMeta(Mapping):
    """valueMeta.attrs of a lazy_attrs_of option: each key's metadata computed when read."""

    def __init__(
        self, ev: Any, loc: tuple[str, ...], elem: Any, keyed: dict[str, list[Definition]]
    ) -> None:
        self._ev, self._loc, self._elem, self._keyed = ev, loc, elem, keyed
        self._done: dict[str, AttrDict] = {}

    def __getitem__(self, key: str) -> AttrDict:
        if key not in self._done:
            defs = self._keyed[key]
            self._done[key] = value_meta(self._ev, (*self._loc, key), self._elem, defs)
        return self._done[key]

    def __getattr__(self, name: str) -> AttrDict:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise MissingAttributeError(
                f"attribute `{name}' missing (have: {', '.join(self._keyed) or 'none'})"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._keyed)

    def __len__(self) -> int:
        return len(self._keyed)


def _attr_list_meta(
    ev: Any, loc: Sequence[str], typ: AttrList, defs: Sequence[Definition]
) -> AttrDict:
    """NixOS attrListWith's metadata: per kept item its element metadata (`attrList`),
    `{key: value}` (`attrListValue`) and a definition carrying its file and order
    (`definitions`, for re-defining another option with the same origins)."""
    evals = typ.evaluated(ev, loc, defs)
    return AttrDict(
        attrList=[
            value_meta(ev, (*loc, key), typ.elem, [(item, module)])
            for key, item, _, _, module in evals
        ],
        attrListValue=[{key: merged} for key, _, merged, _, _ in evals],
        definitions=[
            mk_definition(module.display(), mk_order(order, {key: merged}))
            for key, _, merged, order, module in evals
        ],
    )
