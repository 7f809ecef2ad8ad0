"""Merging repeated declarations of one option, and declaration-structure errors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from declos.config.errors import EvaluationError, show_path
from declos.config.modules import Module
from declos.config.option import NO_VALUE, Option


def merge_declaration(slot: Any, option: Option, module: Module) -> None:
    first, _ = slot.decls[0]
    merged = slot.type.type_merge(option.type)
    clash = any(
        _has(option, attr) and _has(o, attr)
        for o, _ in slot.decls
        for attr in ("default", "example", "description", "apply")
    )
    if merged is None or clash:
        raise EvaluationError(
            f"The option `{show_path(slot.path)}' in `{option.where()}' is already declared in `{first.where()}'.\n"
            "Hint: declare an option once; a second declaration may only add sub-options or enum values, "
            "and not a second default, example, description or apply."
        )
    slot.type = merged
    slot.decls.append((option, module))
    if slot.default_option is None and option.has_default:
        slot.default_option = option


def parent_error(slot: Any, below: Sequence[tuple[tuple[str, ...], Option]]) -> EvaluationError:
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
