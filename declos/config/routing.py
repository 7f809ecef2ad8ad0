"""Routing a module's `config` to the declared options it defines.

A definition is split along the option tree: everything below a declared option is one
definition of that option; an undeclared name goes to the freeform option if there is
one, else it is an error with suggestions. Properties wrapped around a group of options
(`mk_if`, `mk_override`, `mk_order`) are pushed down onto each option's definition,
as NixOS's `pushDownProperties` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from declos.config.errors import EvaluationError
from declos.config.locations import split_key
from declos.config.messages import did_you_mean, show_path
from declos.config.modules import Module, RedirectedSite
from declos.config.option import Option
from declos.config.properties import If, Lazy, Merge, Order, Override
from declos.config.render import render_short
from declos.config.slot import RedirectNode, Slot

Routed = tuple[Slot, tuple[Any, Module]]
"""(option, (value, module)): one definition, ready to be appended to the option."""


def route(ev: Any, module: Module, config: Any) -> list[Routed]:
    """The definitions `config` (a module's config value) makes, per option of `ev`."""
    out: list[Routed] = []
    _route_into(ev, module, config, ev.tree, (), (), out)
    return out


def _unwrap(
    ev: Any, module: Module, value: Any, rel: tuple[str, ...], wraps: tuple[Any, ...]
) -> tuple[Any, tuple[Any, ...]]:
    """Strip the properties around a group of options (a `Merge` is returned as is)."""
    while isinstance(value, (If, Override, Order, Lazy)):
        if isinstance(value, Lazy):
            raise EvaluationError(
                f"In `{module.where(ev.prefix + rel)}': a lazy value cannot stand for the options below "
                f"`{show_path(ev.prefix + rel) or '(the top level)'}': which options it defines must be known without "
                "evaluating it.\nHint: put lazy(...) (or the template) on each option's value instead."
            )
        wraps = (*wraps, value)
        value = value.content
    return value, wraps


def _route_into(
    ev: Any,
    module: Module,
    value: Any,
    node: dict[str, Any],
    rel: tuple[str, ...],
    wraps: tuple[Any, ...],
    out: list[Routed],
) -> None:
    value, wraps = _unwrap(ev, module, value, rel, wraps)
    if isinstance(value, Merge):
        for item in value.contents:
            _route_into(ev, module, item, node, rel, wraps, out)
        return
    if not isinstance(value, Mapping):
        raise EvaluationError(
            f"In module `{module.where(ev.prefix + rel)}', you're trying to define a value of type "
            f"`{_kind_name(value)}'\nrather than an attribute set for the option\n`{show_path(ev.prefix + rel) or '(the top level)'}'!\n"
            "Hint: only options take plain values; this path is a group of options."
        )
    for key, item in value.items():
        if type(key) is not str:
            raise EvaluationError(
                f"In `{module.where(ev.prefix + rel)}': option names must be strings, not {key!r}."
            )
        parts = split_key(key) if "." in key else (key,)
        n = node
        for i, part in enumerate(parts):
            child = n.get(part)
            if child is None:
                _route_undeclared(ev, module, item, n, rel, parts, i, wraps, out)
                break
            if isinstance(child, Slot):
                nested = _nest(item, parts[i + 1 :])
                out.append((child, (_wrap(nested, wraps) if wraps else nested, module)))
                break
            if isinstance(child, RedirectNode):
                _route_redirect(ev, module, _nest(item, parts[i + 1 :]), child, wraps, out)
                break
            n = child
        else:
            _route_into(ev, module, item, n, (*rel, *parts), wraps, out)


def _route_undeclared(
    ev: Any,
    module: Module,
    item: Any,
    node: dict[str, Any],
    rel: tuple[str, ...],
    parts: Any,
    i: int,
    wraps: tuple[Any, ...],
    out: list[Routed],
) -> None:
    """`parts[i]` names no declared option below `rel`: the freeform option, or an error."""
    full = (*rel, *parts)
    if ev.freeform_slot is None:
        top = node is ev.tree and i == 0 and not rel
        ev.undeclared.append(
            undeclared_error(ev, (*rel, *parts[: i + 1]), full, item, module, node, top)
        )
        return
    nested = _nest(item, (*rel, *parts))
    out.append((ev.freeform_slot, (_wrap(nested, wraps), module)))


def _route_redirect(
    ev: Any,
    module: Module,
    value: Any,
    node: RedirectNode,
    wraps: tuple[Any, ...],
    out: list[Routed],
) -> None:
    """A definition under a renamed/aliased path goes to the target path, keeping its
    priority and its own file:line; one under a removed option is only recorded."""
    redirect = node.redirect
    node.uses.append((module, ev.prefix + redirect.source))
    if redirect.kind == "removed":
        return
    site = RedirectedSite(module, ev.prefix + redirect.source, ev.prefix + redirect.target)
    if redirect.condition is not None:  # NixOS: mkIf condition around the definitions
        wraps = (*wraps, If(redirect.condition, None))
    _route_into(ev, site, _nest(value, redirect.target), ev.tree, (), wraps, out)


def _nest(value: Any, path: Any) -> Any:
    """`value` placed at `path`: (a, b), v -> {a: {b: v}}."""
    for p in reversed(tuple(path)):
        value = {p: value}
    return value


def undeclared_error(
    ev: Any,
    missing: tuple[str, ...],
    full: tuple[str, ...],
    value: Any,
    module: Module,
    node: dict[str, Any],
    top: bool,
) -> EvaluationError:
    path = ev.prefix + missing
    where = module.where(ev.prefix + full)
    message = f"The option `{show_path(path)}' does not exist. Definition values:\n- In `{where}': {render_short(value)}"
    if isinstance(value, Option) or (
        isinstance(value, Mapping) and any(isinstance(v, Option) for v in value.values())
    ):
        message += "\n\nIt seems as if you're trying to declare an option by placing it into `config' rather than `options'!"
    else:
        message += did_you_mean(missing[-1], node, ev.prefix + missing[:-1])
    message += "\nHint: declare the option in a module's `options', or fix the name."
    return EvaluationError(message)


def _wrap(value: Any, wraps: tuple[Any, ...]) -> Any:
    for w in reversed(wraps):
        if isinstance(w, If):
            value = If(w.condition, value)
        elif isinstance(w, Override):
            value = Override(w.priority, value)
        elif isinstance(w, Order):
            value = Order(w.priority, value)
    return value


def _kind_name(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return type(value).__name__
