"""Demand-driven read views of an evaluation: `config` and `options`.

Reading a name forces only that option (and what it depends on); iterating a view
lists declared names (plus freeform keys at the root) without forcing values.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from declos.config.errors import MissingAttributeError
from declos.config.messages import did_you_mean, show_path
from declos.config.optioninfo import OptionInfo
from declos.config.slot import Slot, iter_slots
from declos.config.values import AttrDict


class ConfigView(Mapping):
    """`config` (or a subtree of it): attribute and item access force the option read."""

    __slots__ = ("_ev", "_node", "_prefix")

    def __init__(self, ev: Any, node: dict[str, Any], prefix: tuple[str, ...]) -> None:
        self._ev = ev
        self._node = node
        self._prefix = prefix

    def _get(self, name: str) -> Any:
        child = self._node.get(name)
        if child is not None:
            if isinstance(child, dict):
                return ConfigView(self._ev, child, (*self._prefix, name))
            if hasattr(child, "redirect"):
                view = self._ev.lookup_view(self._ev.follow(child))
                use = child.redirect.use
                return view if use is None else use(view)
            return self._ev.force(child)
        rel = (*self._prefix[len(self._ev.prefix) :], name)
        if self._ev.freeform_slot is not None and self._ev.in_freeform(rel):
            return self._ev.freeform_at(rel)
        path = (*self._prefix, name)
        raise MissingAttributeError(
            f"The option `{show_path(path)}' does not exist (it was read, but no module declares it)."
            + did_you_mean(name, self._node, self._prefix)
        )

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._get(name)

    def __getitem__(self, name: str) -> Any:
        return self._get(name)

    def _names(self) -> list[str]:
        names = list(self._node)
        if self._node is self._ev.tree and self._ev.freeform_slot is not None:
            names += [k for k in self._ev.force(self._ev.freeform_slot) if k not in self._node]
        return names

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())

    def __contains__(self, name: object) -> bool:
        if name in self._node:
            return True
        if self._node is self._ev.tree and self._ev.freeform_slot is not None:
            return name in self._ev.force(self._ev.freeform_slot)
        return False

    def __repr__(self) -> str:
        return f"<config {show_path(self._prefix) or '(root)'}: {', '.join(self._node)}>"


class InstanceValue(Mapping):
    """The value of a submodule instance (or of one of its option groups): NixOS computes
    an instance's option only when it is read, and so does this. Keys are the declared
    options and groups (groups without options, `_module` and renamed paths left out)
    plus the freeform value's keys; reading a key forces that option alone (cached in its
    slot). Where the freeform value and a declared name meet, both attribute sets merge,
    the declared side winning (the freeform keys come first, as in the merged dict)."""

    __slots__ = ("_ev", "_node", "_free", "_keys")

    def __init__(self, ev: Any, node: dict[str, Any], free: Mapping[str, Any] | None) -> None:
        self._ev = ev
        self._node = node
        self._free = free
        self._keys: list[str] | None = None

    def _declared(self) -> list[str]:
        top = self._node is self._ev.tree
        out: list[str] = []
        for key, child in self._node.items():
            if isinstance(child, Slot):
                out.append(key)
            elif isinstance(child, dict) and not (top and key == "_module"):
                if next(iter_slots(child), None) is not None:
                    out.append(key)
        return out

    def _names(self) -> list[str]:
        if self._keys is None:
            declared = self._declared()
            if self._free:
                seen = set(self._free)
                declared = [*self._free, *(k for k in declared if k not in seen)]
            self._keys = declared
        return self._keys

    def __getitem__(self, name: str) -> Any:
        child = self._node.get(name)
        extra = self._free.get(name) if self._free is not None else None
        if isinstance(child, Slot):
            value = self._ev.force(child)
            if isinstance(extra, Mapping) and isinstance(value, Mapping):
                return overlay(extra, value)
            return value
        if isinstance(child, dict) and name in self._names():
            return InstanceValue(self._ev, child, extra if isinstance(extra, Mapping) else None)
        if self._free is not None and name in self._free:
            return self._free[name]
        raise MissingAttributeError(
            f"attribute `{name}' missing (have: {', '.join(map(str, self)) or 'none'})"
        )

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())

    def __contains__(self, name: object) -> bool:
        return name in self._names()

    def __repr__(self) -> str:
        return repr({key: self[key] for key in self})


def instance_value(ev: Any) -> InstanceValue:
    """The lazy value of the submodule instance `ev` (its freeform value forced at once:
    its keys are part of the instance's keys)."""
    free = ev.force(ev.freeform_slot) if ev.freeform_slot is not None else None
    return InstanceValue(ev, ev.tree, free)


def overlay(base: Mapping[str, Any], top: Mapping[str, Any]) -> AttrDict:
    """`base` updated recursively with `top` (nested attribute sets merge)."""
    out = AttrDict(base)
    for key, value in top.items():
        old = out.get(key)
        out[key] = (
            overlay(old, value)
            if isinstance(value, Mapping) and isinstance(old, Mapping)
            else value
        )
    return out


class OptionsView(Mapping):
    """`options`: the declared option tree, never forcing values; a declared option reads
    as its NixOS option attribute set (`OptionInfo`: type, description, default, ...)."""

    __slots__ = ("_node", "_prefix")

    def __init__(self, node: dict[str, Any], prefix: tuple[str, ...] = ()) -> None:
        self._node = node
        self._prefix = prefix

    def __getitem__(self, name: str) -> Any:
        child = self._node.get(name)
        if child is None:
            raise MissingAttributeError(
                f"The option `{show_path((*self._prefix, name))}' does not exist."
            )
        if isinstance(child, dict):
            return OptionsView(child, (*self._prefix, name))
        return OptionInfo(child) if isinstance(child, Slot) else child

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._node)

    def __len__(self) -> int:
        return len(self._node)

    def __contains__(self, name: object) -> bool:
        return name in self._node
