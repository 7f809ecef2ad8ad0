"""Computing one option's value from its slot: the one-scalar fast path, the read-only
check, the option default as a priority-1500 definition, the merge and `apply`."""

from __future__ import annotations

from typing import Any

from declos.config.errors import EvaluationError
from declos.config.merge import merge_definitions, value_or_empty
from declos.config.messages import show_defs, show_path
from declos.config.modules import DeclarationSite, Module
from declos.config.option import Option
from declos.config.properties import OPTION_DEFAULT_PRIORITY, Override, Property
from declos.config.slot import Slot
from declos.config.typesys import Scalar
from declos.config.usercode import USER_FAILURES, user_code_error

SLOW: Any = object()
"""`fast_scalar`'s answer when the general merge must decide."""


def fast_scalar(typ: Any, defs: list[tuple[Any, Module]], option: Option | None) -> Any:
    """The common case, without building discharge lists: one winning scalar definition.

    Plain values and single `Override` wrappers only; anything else (conditions,
    orders, lazy values, several winners, a failing check) takes the general path.
    """
    if typ.__class__ is not Scalar:
        return SLOW
    best = OPTION_DEFAULT_PRIORITY if option is not None else 1 << 30
    winner: Any = option.default if option is not None else SLOW
    count = 1 if option is not None else 0
    for value, _ in defs:
        if value.__class__ is Override:
            prio = value.priority
            value = value.content
            if isinstance(value, Property):
                return SLOW
        elif isinstance(value, Property):
            return SLOW
        else:
            prio = 100
        if prio < best:
            best, winner, count = prio, value, 1
        elif prio == best:
            count += 1
    if count != 1 or isinstance(winner, Property) or not typ.check(winner):
        return SLOW
    return winner


def merge_slot(ev: Any, slot: Slot) -> Any:
    """The value of `slot`: its definitions (and default) merged by its type, `apply`ed."""
    defs = slot.defs
    option = slot.default_option
    if slot.read_only and len(defs) + (option is not None) > 1:
        all_defs = (
            [(option.default, DeclarationSite(option))] if option is not None else []
        ) + defs
        raise EvaluationError(
            f"The option `{show_path(slot.path)}' is read-only, but it's set multiple times. Definition values:"
            f"{show_defs(all_defs, slot.path)}\nHint: read-only options are set by declos itself; remove these definitions."
        )
    typ = slot.type
    merged = fast_scalar(typ, defs, option)
    if merged is SLOW:
        if option is not None and (not defs or any(isinstance(v, Property) for v, _ in defs)):
            defs = [
                (Override(OPTION_DEFAULT_PRIORITY, option.default), DeclarationSite(option)),
                *defs,
            ]
        merged = merge_definitions(ev, slot.path, typ, defs)
    value = value_or_empty(slot.type, slot.path, merged, ev)
    apply = slot.apply
    if apply is not None:
        value = _apply(apply, value, slot)
    return value


def _apply(apply: Any, value: Any, slot: Slot) -> Any:
    """The option's `apply` function (user code) on the merged value."""
    try:
        return apply(value)
    except EvaluationError:
        raise
    except USER_FAILURES as exc:  # user code
        code = getattr(apply, "__code__", None)
        option = next(o for o, _ in slot.decls if o.apply is apply)
        error = user_code_error(
            exc,
            code.co_filename if code else option.file,
            f"while applying the `apply' function of option `{show_path(slot.path)}' "
            f"declared at {option.where()}",
        )
        raise error from None
