"""Cycle reports: every module and option on the loop, with file:line, and how to break it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from declos.config.errors import EvaluationError
from declos.config.messages import show_path
from declos.config.slot import ModuleFrame, OptionFrame

HINT = (
    "Hint: a module may read any option it does not define itself. To break the loop, compute the value "
    "when the option is read instead of while the module runs: wrap it in lazy(lambda config: ...) "
    '(Python) or write it as a "{{ ... }}" template (YAML), or guard a definition with mk_if(...) / !if '
    "instead of an `if` around the whole module body."
)


def _defined_at(slot: Any) -> str:
    places = []
    for _, module in slot.defs[:3]:
        where = module.where(slot.path)
        if where not in places:
            places.append(where)
    return ", ".join(f"`{p}'" for p in places) or "its declaration's default"


def _describe(chain: Sequence[Any]) -> list[str]:
    """One line per step: who reads what."""
    lines: list[str] = []
    prev: Any = None
    for frame in chain:
        if isinstance(frame, ModuleFrame):
            if isinstance(prev, OptionFrame):
                lines.append(
                    f"- to compute `{show_path(prev.slot.path)}', module `{frame.module.where_self()}' runs "
                    "(it may define it)"
                )
            prev = frame
            continue
        if isinstance(frame, OptionFrame):
            at = f" (at {frame.read_line})" if frame.read_line else ""
            if isinstance(prev, ModuleFrame):
                lines.append(
                    f"- module `{prev.module.where_self()}' reads `{show_path(frame.slot.path)}'{at}"
                )
            elif isinstance(prev, OptionFrame):
                lines.append(
                    f"- the value of `{show_path(prev.slot.path)}' (defined in {_defined_at(prev.slot)}) "
                    f"reads `{show_path(frame.slot.path)}'"
                )
            prev = frame
    return lines


def module_cycle(module: Any, slot: Any, chain: Sequence[Any]) -> EvaluationError:
    """`module` defines `slot`, which was read (through `chain`) while it was running."""
    defined = module.where(slot.path)
    lines = _describe(chain)
    lines.append(
        f"- `{show_path(slot.path)}' is defined by module `{module.where_self()}' (at {defined})"
    )
    return EvaluationError(
        f"infinite recursion: module `{module.where_self()}' defines `{show_path(slot.path)}', but "
        f"`{show_path(slot.path)}' was read while that module was still running:\n"
        + "\n".join(lines)
        + "\n"
        + HINT
    )


def pending_definer(stack: Sequence[Any], slot: Any) -> EvaluationError | None:
    """`slot` has no value yet and was read while modules of its evaluation run: if one of
    them visibly defines it (its source spells the key), the read is a module cycle."""
    rel = slot.path[len(slot.ev.prefix) :]
    for i, frame in enumerate(stack):
        if (
            isinstance(frame, ModuleFrame)
            and frame.ev is slot.ev
            and frame.module.visibly_defines(rel)
        ):
            return module_cycle(frame.module, slot, tuple(stack[i:]))
    return None


def value_cycle(slot: Any, stack: Sequence[Any], read_line: str | None) -> EvaluationError:
    """The value of `slot` needs `slot` itself (through lazy values / templates / module runs)."""
    start = next(
        (i for i, f in enumerate(stack) if isinstance(f, OptionFrame) and f.slot is slot), 0
    )
    chain = [*stack[start:], OptionFrame(slot, read_line)]
    lines = _describe(chain)
    return EvaluationError(
        f"infinite recursion: the value of `{show_path(slot.path)}' depends on itself:\n"
        + "\n".join(lines)
        + "\n"
        + HINT
    )
