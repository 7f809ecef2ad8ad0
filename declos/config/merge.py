"""Merging the definitions of one option (NixOS `mergeDefinitions`).

Steps, in order: discharge `mk_merge`/`mk_if`/lazy values; keep only the definitions
with the lowest override priority and strip that wrapper; stable-sort by order priority
and strip; check every definition against the type; apply the type's merge.
Definitions are `(value, module)` pairs so that file:line is computed only for errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from declos.config.errors import EvaluationError
from declos.config.messages import Definition, show_defs, show_path
from declos.config.properties import (
    DEFAULT_ORDER,
    DEFAULT_PRIORITY,
    DefinitionAt,
    If,
    Lazy,
    Merge,
    Order,
    Override,
    Property,
)


class OptionType(Protocol):
    """What merging needs of a type (`declos.config.typesys.OptionType` implements it)."""

    description: str

    def check(self, value: Any) -> bool: ...

    def merge(self, ev: Any, loc: Sequence[str], defs: Sequence[Definition]) -> Any: ...

    def empty_value(self, ev: Any, loc: Sequence[str]) -> Any: ...


class _Absent:
    """No definition survived: the caller decides between empty value, removal or error."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()

PRIORITY_HINT = (
    "Use `!force value` or `!default value` (YAML), or `mk_force(value)` or "
    "`mk_default(value)` (Python), to change the priority on any of these definitions."
)


def discharge(ev: Any, loc: Sequence[str], defs: Sequence[Definition]) -> list[Definition]:
    """Expand mk_merge, evaluate mk_if conditions and lazy values; drop false branches."""
    out: list[Definition] = []
    for value, module in defs:
        if isinstance(value, Property):
            _expand(ev, loc, value, module, out)
        else:
            out.append((value, module))
    return out


class DefinitionSite:
    """The site of an `mk_definition`: messages show the file it names; its lazy values
    still see the configuration the defining module saw. (Shaped like a `Module` for
    the merge and its messages: this layer sits below the module classes.)"""

    kind = "definition"
    line = None

    def __init__(self, origin: Any, file: str) -> None:
        self.origin = origin
        self.file = file
        self.key = f"{origin.key}#definition:{file}"
        self.scope = origin.scope

    def display(self) -> str:
        return self.file

    def where(self, path: Sequence[str]) -> str:
        return self.file

    def locate(self, section: str, path: Sequence[str]) -> int | None:
        return None


def _expand(ev: Any, loc: Sequence[str], value: Any, module: Any, out: list[Definition]) -> None:
    while isinstance(value, Property):
        if isinstance(value, DefinitionAt):
            if module.kind == "declaration":
                break  # NixOS: an option default is not unwrapped (a known limitation)
            module = DefinitionSite(module, value.file)
            value = value.value
        elif isinstance(value, Lazy):
            value = ev.resolve_lazy(value, module, loc)
        elif isinstance(value, Merge):
            for item in value.contents:
                _expand(ev, loc, item, module, out)
            return
        elif isinstance(value, If):
            cond = value.condition
            if isinstance(cond, Lazy):
                cond = ev.resolve_lazy(cond, module, loc)
            if cond is not True and cond is not False:
                raise EvaluationError(
                    f"mk_if called with a non-Boolean condition ({cond!r}) for option "
                    f"`{show_path(loc)}' in `{module.where(loc)}'.\n"
                    "Hint: the condition must be true or false, e.g. "
                    "`{{ config.services.httpd.enable }}` or `config.x == 1`."
                )
            if not cond:
                return
            value = value.content
        else:
            break
    out.append((value, module))


def filter_priorities(
    ev: Any, loc: Sequence[str], defs: list[Definition]
) -> tuple[int, list[Definition]]:
    """Keep the definitions of the lowest priority number; strip one override wrapper."""
    best = None
    for value, _ in defs:
        prio = value.priority if isinstance(value, Override) else DEFAULT_PRIORITY
        if best is None or prio < best:
            best = prio
    if best is None:
        return DEFAULT_PRIORITY, defs
    kept: list[Definition] = []
    stripped = False
    for value, module in defs:
        if isinstance(value, Override):
            if value.priority == best:
                kept.append((value.content, module))
                stripped = True
        elif best == DEFAULT_PRIORITY:
            kept.append((value, module))
    if stripped:
        kept = discharge(ev, loc, kept)
    return best, kept


def sort_orders(ev: Any, loc: Sequence[str], defs: list[Definition]) -> list[Definition]:
    if not any(isinstance(v, Order) for v, _ in defs):
        return defs
    ordered = sorted(
        defs, key=lambda d: d[0].priority if isinstance(d[0], Order) else DEFAULT_ORDER
    )
    return discharge(ev, loc, [(v.content if isinstance(v, Order) else v, m) for v, m in ordered])


def live_definitions(ev: Any, loc: Sequence[str], defs: Sequence[Definition]) -> list[Definition]:
    """The definitions that count: conditions and merges expanded, the highest priority
    kept, orders applied (what the type's merge receives)."""
    live = discharge(ev, loc, defs)
    _, live = filter_priorities(ev, loc, live)
    return sort_orders(ev, loc, live)


def merge_definitions(
    ev: Any, loc: Sequence[str], typ: OptionType, defs: Sequence[Definition]
) -> Any:
    """The merged value of `defs` for `typ`, or ABSENT when no definition survives."""
    simple = True
    for value, _ in defs:
        if isinstance(value, Property):
            simple = False
            break
    live = list(defs) if simple else live_definitions(ev, loc, defs)
    if not live:
        return ABSENT
    check_definitions(loc, typ, live)
    return typ.merge(ev, loc, live)


def check_definitions(loc: Sequence[str], typ: OptionType, defs: Sequence[Definition]) -> None:
    check = typ.check
    for value, _ in defs:
        if not check(value):
            bad = [d for d in defs if not check(d[0])]
            raise type_error(loc, typ, bad)


def type_error(loc: Sequence[str], typ: OptionType, bad: Sequence[Definition]) -> EvaluationError:
    return EvaluationError(
        f"A definition for option `{show_path(loc)}' is not of type `{typ.description}'. "
        f"Definition values:{show_defs(bad, loc)}\n"
        f"Hint: give a value of type `{typ.description}'."
    )


class NoValueError(EvaluationError):
    """An option was read that has no definition and no default (so far: while modules
    run, one of them may still define it, which makes the read a cycle)."""


def no_value_error(loc: Sequence[str]) -> EvaluationError:
    return NoValueError(
        f"The option `{show_path(loc)}' was accessed but has no value defined. Try setting the option."
    )


def value_or_empty(typ: OptionType, loc: Sequence[str], value: Any, ev: Any) -> Any:
    """What reading an option gives: its value, else the type's empty value, else an error."""
    if value is not ABSENT:
        return value
    empty = typ.empty_value(ev, loc)
    if empty is ABSENT:
        raise no_value_error(loc)
    return empty


def merge_equal(loc: Sequence[str], defs: Sequence[Definition]) -> Any:
    """NixOS `mergeEqualOption`: equal-priority definitions of a scalar must agree."""
    first = defs[0][0]
    for value, _ in defs[1:]:
        if value != first or type(value) is not type(first):
            raise EvaluationError(
                f"The option `{show_path(loc)}' has conflicting definition values:"
                f"{show_defs(defs, loc)}\n{PRIORITY_HINT}"
            )
    return first


def merge_one(loc: Sequence[str], defs: Sequence[Definition], message: str = "") -> Any:
    """NixOS `mergeOneOption`/`unique`: exactly one definition after priority filtering."""
    if len(defs) != 1:
        extra = f"\n{message}" if message else ""
        raise EvaluationError(
            f"The option `{show_path(loc)}' is defined multiple times while it's expected to be unique."
            f"{extra}\nDefinition values:{show_defs(defs, loc)}\n{PRIORITY_HINT}"
        )
    return defs[0][0]
