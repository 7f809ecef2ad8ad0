"""The option tree of an evaluation: declaring options, merging repeated declarations of
one option, declarations below submodule options, and declaration-structure errors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from declos.config.errors import EvaluationError
from declos.config.messages import show_path
from declos.config.modules import Module, Redirect
from declos.config.option import NO_VALUE, Option
from declos.config.slot import RedirectNode, Slot, iter_slots


def declare(ev: Any, path: tuple[str, ...], option: Option, module: Module) -> None:
    """Add `option` at `path` to `ev.tree` (a nested dict with `Slot` leaves)."""
    node = ev.tree
    for i, part in enumerate(path[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        elif isinstance(child, RedirectNode):
            raise redirect_clash(child, ev.prefix + path, option.where())
        elif isinstance(child, Slot):
            if child.type.nested:
                child.extra = [*(child.extra or ()), (path[i + 1 :], option, module)]
                return
            raise parent_error(child, [(ev.prefix + path, option)])
        node = child
    last = path[-1]
    existing = node.get(last)
    if existing is None:
        node[last] = Slot(ev, ev.prefix + path, option, module)
    elif isinstance(existing, RedirectNode):
        raise redirect_clash(existing, ev.prefix + path, option.where())
    elif isinstance(existing, dict):
        below = list(iter_slots(existing))
        if not option.type.nested:
            raise parent_error(
                Slot(ev, ev.prefix + path, option, module),
                [(s.path, s.decls[0][0]) for s in below],
            )
        slot = node[last] = Slot(ev, ev.prefix + path, option, module)
        for sub in below:
            for sub_option, sub_module in sub.decls:
                slot.extra = [
                    *(slot.extra or ()),
                    (sub.path[len(slot.path) :], sub_option, sub_module),
                ]
    elif existing.conflict is None:
        try:
            merge_declaration(existing, option, module)
        except EvaluationError as exc:
            existing.conflict = str(exc)


def attach_nested_declarations(node: dict[str, Any]) -> None:
    """Declarations made below a submodule option become modules of its type."""
    for child in node.values():
        if isinstance(child, dict):
            attach_nested_declarations(child)
        elif isinstance(child, Slot) and child.extra:
            extra = [
                Module(m.file, f"{m.key}#{'.'.join(p)}", options=[(p, o)], line=o.line)
                for p, o, m in child.extra
            ]
            child.type = child.type.with_modules(extra)


def place_redirect(ev: Any, redirect: Redirect, module: Module) -> None:
    """Put a rename/alias/removal at its source path of `ev.tree`."""
    node = ev.tree
    path = redirect.source
    for part in path[:-1]:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        elif not isinstance(child, dict):
            raise _taken(ev.prefix + path, child, module)
        node = child
    existing = node.get(path[-1])
    if existing is not None:
        raise _taken(ev.prefix + path, existing, module)
    node[path[-1]] = RedirectNode(redirect, module)


def _taken(path: tuple[str, ...], existing: Any, module: Module) -> EvaluationError:
    there = (
        existing.decls[0][0].where()
        if isinstance(existing, Slot)
        else existing.module.display()
        if isinstance(existing, RedirectNode)
        else "other modules (it is a group of options)"
    )
    return EvaluationError(
        f"The option `{show_path(path)}' of the rename/alias module in `{module.display()}' is already "
        f"declared in {there}.\nHint: an option path can be declared, or renamed, not both."
    )


def redirect_clash(node: RedirectNode, path: tuple[str, ...], where: str) -> EvaluationError:
    return EvaluationError(
        f"The option `{show_path(path)}' in `{where}' is below `{show_path(node.redirect.source)}', "
        f"which module `{node.module.display()}' made a {node.redirect.kind} option.\n"
        "Hint: declare the option under its new name."
    )


def merge_declaration(slot: Slot, option: Option, module: Module) -> None:
    first, _ = slot.decls[0]
    merged = slot.type.type_merge(option.type)
    clash = any(
        _has(option, attr) and _has(o, attr)
        for o, _ in slot.decls
        for attr in ("default", "example", "description", "apply")
    )
    if merged is None or clash:
        raise EvaluationError(
            # NixOS's wording and order: the earlier declaration is "in", the later one
            # "already declared in" (lib/tests/modules.sh lines 290 and 400).
            f"The option `{show_path(slot.path)}' in `{first.where()}' is already declared in `{option.where()}'.\n"
            "Hint: declare an option once; a second declaration may only add sub-options or enum values, "
            "and not a second default, example, description or apply."
        )
    slot.type = merged
    slot.decls.append((option, module))
    if slot.default_option is None and option.has_default:
        slot.default_option = option


def parent_error(slot: Slot, below: Sequence[tuple[tuple[str, ...], Option]]) -> EvaluationError:
    option = slot.decls[0][0]
    lines = "".join(
        f"\n - option(s) with prefix `{show_path(p)}' in module `{o.where()}'" for p, o in below
    )
    return EvaluationError(
        f"The option `{show_path(slot.path)}' in module `{option.where()}' would be a parent of the following options, "
        f"but its type `{slot.type.description}' does not support nested options.{lines}\n"
        "Hint: use a submodule type for the parent, or move the nested options elsewhere."
    )


def _has(option: Option, attr: str) -> bool:
    value = getattr(option, attr)
    return value is not None and value is not NO_VALUE
