"""The evaluator: the demand-driven, eager fixed point of the module system.

Reading an option forces it: every function module that has not run yet is run first
(it may define the option), then the option's definitions are merged and cached.
A module that is still running when an option is computed is *assumed* not to define
it; the assumption is checked when the module returns, and a broken one is a cycle,
reported with the whole chain (see `declos.config.cycles`).
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from declos.config import cycles
from declos.config.declarations import merge_declaration, parent_error
from declos.config.errors import EvaluationError, MissingAttributeError, did_you_mean, show_path
from declos.config.merge import merge_definitions, value_or_empty
from declos.config.modules import (
    NOT_RUN,
    RAN,
    RUNNING,
    DeclarationSite,
    DerivedModule,
    Module,
    call_module_function,
    collect,
    split_key,
)
from declos.config.option import NO_VALUE, Option
from declos.config.properties import (
    OPTION_DEFAULT_PRIORITY,
    If,
    Lazy,
    Merge,
    Order,
    Override,
    Property,
)
from declos.config.render import render_short
from declos.config.typesys import Scalar
from declos.config.values import AttrDict, to_json, to_plain
from declos.config.view import ConfigView, OptionsView

UNFORCED, MERGING, DONE = 0, 1, 2


class Slot:
    """One declared option of one evaluation: merged declaration, definitions, value."""

    __slots__ = ("path", "decls", "type", "default_option", "defs", "state", "value", "ev", "extra")

    def __init__(
        self, ev: Evaluation, path: tuple[str, ...], option: Option, module: Module
    ) -> None:
        self.ev = ev
        self.path = path
        self.decls: list[tuple[Option, Module]] = [(option, module)]
        self.type = option.type
        self.default_option = option if option.has_default else None
        self.defs: list[tuple[Any, Module]] = []
        self.state = UNFORCED
        self.value: Any = None
        self.extra: list[tuple[tuple[str, ...], Option, Module]] | None = None
        """Declarations below this (submodule) option, made by other modules."""

    @property
    def read_only(self) -> bool:
        return any(o.read_only for o, _ in self.decls)

    @property
    def apply(self) -> Any:
        return next((o.apply for o, _ in self.decls if o.apply is not None), None)

    def attr(self, name: str) -> Any:
        """A documentation attribute from the first declaration that has it."""

        for option, _ in self.decls:
            value = getattr(option, name)
            if value is not None and value is not NO_VALUE:
                return value
        return NO_VALUE if name in ("default", "example") else None

    def __repr__(self) -> str:
        return f"<option {show_path(self.path)}>"


class ModuleFrame:
    __slots__ = ("module", "ev", "assumed")

    def __init__(self, module: Module, ev: Evaluation) -> None:
        self.module = module
        self.ev = ev
        self.assumed: dict[Slot, tuple[Any, ...]] = {}


class OptionFrame:
    __slots__ = ("slot", "read_line")

    def __init__(self, slot: Slot, read_line: str | None) -> None:
        self.slot = slot
        self.read_line = read_line


class Runtime:
    """What all evaluations of one `evaluate()` share: the stack, pkgs, lib, special args."""

    def __init__(self, special_args: Mapping[str, Any] | None) -> None:
        from declos.config.lib import LIB
        from declos.config.pkgsproxy import LazyPkgs

        self.special = dict(special_args or {})
        self.pkgs = self.special.pop("pkgs", None) or LazyPkgs()
        self.lib = self.special.pop("lib", None) or LIB
        self.stack: list[ModuleFrame | OptionFrame] = []
        self.module_depth = 0


class _Run:
    """A function module's progress within one evaluation."""

    __slots__ = ("module", "state")

    def __init__(self, module: Module) -> None:
        self.module = module
        self.state = NOT_RUN


class Evaluation:
    """One module evaluation (the top level, or one submodule instance)."""

    def __init__(
        self,
        rt: Runtime,
        modules: Sequence[Module],
        prefix: tuple[str, ...] = (),
        name: str | None = None,
    ) -> None:
        self.rt = rt
        self.modules = list(modules)
        self.prefix = prefix
        self.name = name
        self.tree: dict[str, Any] = {}
        self.freeform_slot: Slot | None = None
        self.runs: list[_Run] = []
        self.pending_left = 0
        self.config = ConfigView(self, self.tree, prefix)
        self.options = OptionsView(self.tree, prefix)
        self.warnings: list[str] = []

    # -- setup ---------------------------------------------------------------------------

    def setup(self) -> Evaluation:
        for module in self.modules:
            for path, option in module.options:
                self._declare(path, option, module)
        self._attach_nested_declarations(self.tree)
        freeform = next(((m.freeform, m) for m in self.modules if m.freeform is not None), None)
        if freeform is not None:
            from declos.config.types import attrs_of

            typ = freeform[0]
            option = Option(typ if hasattr(typ, "elem") else attrs_of(typ))
            option.file, option.line = freeform[1].file, freeform[1].line
            self.freeform_slot = Slot(self, self.prefix, option, freeform[1])
        for module in self.modules:
            if module.is_function:
                self.runs.append(_Run(module))
            elif module.config:
                for slot, definition in self._route(module, module.config):
                    slot.defs.append(definition)
        self.pending_left = len(self.runs)
        return self

    def _declare(self, path: tuple[str, ...], option: Option, module: Module) -> None:
        node = self.tree
        for i, part in enumerate(path[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            elif isinstance(child, Slot):
                if child.type.nested:
                    child.extra = [*(child.extra or ()), (path[i + 1 :], option, module)]
                    return
                raise parent_error(child, [(self.prefix + path, option)])
            node = child
        last = path[-1]
        existing = node.get(last)
        if existing is None:
            node[last] = Slot(self, self.prefix + path, option, module)
        elif isinstance(existing, dict):
            below = list(_slots(existing))
            if not option.type.nested:
                raise parent_error(
                    Slot(self, self.prefix + path, option, module),
                    [(s.path, s.decls[0][0]) for s in below],
                )
            slot = node[last] = Slot(self, self.prefix + path, option, module)
            for sub in below:
                for sub_option, sub_module in sub.decls:
                    slot.extra = [
                        *(slot.extra or ()),
                        (sub.path[len(slot.path) :], sub_option, sub_module),
                    ]
        else:
            merge_declaration(existing, option, module)

    def _attach_nested_declarations(self, node: dict[str, Any]) -> None:
        for child in node.values():
            if isinstance(child, dict):
                self._attach_nested_declarations(child)
            elif child.extra:
                extra = [
                    Module(m.file, f"{m.key}#{'.'.join(p)}", options=[(p, o)], line=o.line)
                    for p, o, m in child.extra
                ]
                child.type = child.type.with_modules(extra)

    # -- routing definitions to options -----------------------------------------------------

    def _route(self, module: Module, config: Any) -> list[tuple[Slot, tuple[Any, Module]]]:
        out: list[tuple[Slot, tuple[Any, Module]]] = []
        self._route_into(module, config, self.tree, (), (), out)
        return out

    def _route_into(
        self,
        module: Module,
        value: Any,
        node: dict[str, Any],
        rel: tuple[str, ...],
        wraps: tuple[Any, ...],
        out: list[Any],
    ) -> None:
        while isinstance(value, Property):
            if isinstance(value, Merge):
                for item in value.contents:
                    self._route_into(module, item, node, rel, wraps, out)
                return
            if isinstance(value, Lazy):
                raise EvaluationError(
                    f"In `{module.where(self.prefix + rel)}': a lazy value cannot stand for the options below "
                    f"`{show_path(self.prefix + rel) or '(the top level)'}': which options it defines must be known without "
                    "evaluating it.\nHint: put lazy(...) (or the template) on each option's value instead."
                )
            wraps = (*wraps, value)
            value = value.content
        if not isinstance(value, Mapping):
            raise EvaluationError(
                f"In module `{module.where(self.prefix + rel)}', you're trying to define a value of type "
                f"`{_kind_name(value)}'\nrather than an attribute set for the option\n`{show_path(self.prefix + rel) or '(the top level)'}'!\n"
                "Hint: only options take plain values; this path is a group of options."
            )
        tree_root = self.tree
        for key, item in value.items():
            if type(key) is not str:
                raise EvaluationError(
                    f"In `{module.where(self.prefix + rel)}': option names must be strings, not {key!r}."
                )
            parts = split_key(key) if "." in key else (key,)
            n = node
            for i, part in enumerate(parts):
                child = n.get(part)
                if child is None:
                    full = (*rel, *parts)
                    if self.freeform_slot is not None:
                        nested = item
                        for p in reversed(full[len(rel) + i + 1 :]):
                            nested = {p: nested}
                        nested = {part: nested}
                        for p in reversed(rel + tuple(parts[:i])):
                            nested = {p: nested}
                        out.append((self.freeform_slot, (_wrap(nested, wraps), module)))
                        break
                    raise self._undeclared(
                        (*rel, *parts[: i + 1]),
                        full,
                        item,
                        module,
                        n,
                        n is tree_root and i == 0 and not rel,
                    )
                if isinstance(child, Slot):
                    rest = parts[i + 1 :]
                    nested = item
                    for p in reversed(rest):
                        nested = {p: nested}
                    out.append((child, (_wrap(nested, wraps) if wraps else nested, module)))
                    break
                n = child
            else:
                self._route_into(module, item, n, (*rel, *parts), wraps, out)

    def _undeclared(
        self,
        missing: tuple[str, ...],
        full: tuple[str, ...],
        value: Any,
        module: Module,
        node: dict[str, Any],
        top: bool,
    ) -> EvaluationError:
        path = self.prefix + missing
        where = module.where(self.prefix + full)
        message = f"The option `{show_path(path)}' does not exist. Definition values:\n- In `{where}': {render_short(value)}"
        if isinstance(value, Option) or (
            isinstance(value, Mapping) and any(isinstance(v, Option) for v in value.values())
        ):
            message += "\n\nIt seems as if you're trying to declare an option by placing it into `config' rather than `options'!"
        else:
            message += did_you_mean(missing[-1], node, self.prefix + missing[:-1])
        message += "\nHint: declare the option in a module's `options', or fix the name."
        return EvaluationError(message)

    # -- running function modules ---------------------------------------------------------------

    def run_pending(self) -> None:
        for run in self.runs:
            if run.state == NOT_RUN:
                self._run(run)

    def _run(self, run: _Run) -> None:
        from declos.config.pymodule import read_site_error, user_code_error

        module = run.module
        run.state = RUNNING
        self.pending_left -= 1
        rt = self.rt
        frame = ModuleFrame(module, self)
        rt.stack.append(frame)
        rt.module_depth += 1
        try:
            result = call_module_function(module.config, self.module_args())
        except MissingAttributeError as exc:
            raise read_site_error(exc, module.file) from None
        except EvaluationError:
            raise
        except RecursionError:
            raise EvaluationError(
                f"infinite recursion while running module `{module.where_self()}'.\n{cycles.HINT}"
            ) from None
        except Exception as exc:  # noqa: BLE001 - report failures of user code at their line
            raise user_code_error(
                exc, module.file, f"while running the config function of `{module.where_self()}'"
            ) from None
        finally:
            rt.stack.pop()
            rt.module_depth -= 1
        routed = self._route(module, {} if result is None else result)
        if frame.assumed:
            for slot, _ in routed:
                if slot in frame.assumed:
                    raise cycles.module_cycle(module, slot, frame.assumed[slot])
        for slot, definition in routed:
            slot.defs.append(definition)
        run.state = RAN

    def module_args(self) -> dict[str, Any]:
        args = dict(self.rt.special)
        args.update(
            config=self.config,
            pkgs=self.rt.pkgs,
            lib=self.rt.lib,
            options=self.options,
            name=self.name,
        )
        return args

    # -- forcing ---------------------------------------------------------------------------

    def force(self, slot: Slot) -> Any:
        if slot.state == DONE:
            return slot.value
        if slot.state == MERGING:
            raise cycles.value_cycle(slot, self.rt.stack, _reader_line(self.rt))
        if not slot.ev.pending_left and not self.rt.module_depth and len(slot.decls) == 1:
            option = slot.decls[0][0]
            if option.apply is None and not option.read_only:
                value = _fast_scalar(slot.type, slot.defs, slot.default_option)
                if value is not _SLOW:
                    slot.value = value
                    slot.state = DONE
                    return value
        stack = self.rt.stack
        frame = OptionFrame(
            slot, _reader_line(self.rt) if stack and isinstance(stack[-1], ModuleFrame) else None
        )
        stack.append(frame)
        try:
            ev = slot.ev
            if ev.pending_left:
                ev.run_pending()
                if slot.state == DONE:
                    return slot.value
            if self.rt.module_depth:
                _record_assumptions(stack, slot)
            slot.state = MERGING
            try:
                value = ev._merge_slot(slot)
            except BaseException:
                slot.state = UNFORCED
                raise
            slot.value = value
            slot.state = DONE
            return value
        finally:
            stack.pop()

    def _merge_slot(self, slot: Slot) -> Any:
        defs = slot.defs
        option = slot.default_option
        if slot.read_only and len(defs) + (option is not None) > 1:
            all_defs = (
                [(option.default, DeclarationSite(option))] if option is not None else []
            ) + defs
            from declos.config.errors import show_defs

            raise EvaluationError(
                f"The option `{show_path(slot.path)}' is read-only, but it's set multiple times. Definition values:"
                f"{show_defs(all_defs, slot.path)}\nHint: read-only options are set by declos itself; remove these definitions."
            )
        typ = slot.type
        merged = _fast_scalar(typ, defs, option)
        if merged is _SLOW:
            if option is not None and (not defs or any(isinstance(v, Property) for v, _ in defs)):
                defs = [
                    (Override(OPTION_DEFAULT_PRIORITY, option.default), DeclarationSite(option)),
                    *defs,
                ]
            merged = merge_definitions(self, slot.path, typ, defs)
        value = value_or_empty(slot.type, slot.path, merged, self)
        apply = slot.apply
        if apply is not None:
            value = apply(value)
        return value

    def resolve_lazy(self, value: Lazy, module: Module, loc: Sequence[str]) -> Any:
        from declos.config.pymodule import read_site_error
        from declos.config.templates import Template

        scope = module.scope or self
        if isinstance(value, Template):
            return value.evaluate(scope.template_scope())
        fn = value.fn
        code = getattr(fn, "__code__", None)
        nargs = (code.co_argcount - (1 if hasattr(fn, "__self__") else 0)) if code else 0
        try:
            return fn(scope.config) if nargs >= 1 else fn()
        except MissingAttributeError as exc:
            raise read_site_error(exc, code.co_filename if code else module.file) from None
        except EvaluationError:
            raise
        except Exception as exc:  # noqa: BLE001 - user code
            from declos.config.pymodule import user_code_error

            file = code.co_filename if code else module.file
            raise user_code_error(
                exc,
                file,
                f"while computing the lazy value of `{show_path(loc)}' defined in `{module.where(loc)}'",
            ) from None

    def template_scope(self) -> dict[str, Any]:
        scope = dict(self.rt.special)
        scope.update(config=self.config, pkgs=self.rt.pkgs, lib=self.rt.lib, options=self.options)
        if self.name is not None:
            scope["name"] = self.name
        return scope

    def submodule_value(
        self, typ: Any, loc: Sequence[str], defs: Sequence[tuple[Any, Module]]
    ) -> Any:
        name = loc[-1] if loc else None
        modules: list[Any] = list(typ.modules_for(name))
        modules += [DerivedModule(m, v, self) for v, m in defs]
        child = Evaluation(self.rt, collect(modules), tuple(loc), name)
        child.setup()
        return child.force_all()

    def force_all(self) -> AttrDict:
        declared = self._force_node(self.tree)
        if self.freeform_slot is None:
            return declared
        return _recursive_update(self.force(self.freeform_slot), declared)

    def _force_node(self, node: dict[str, Any]) -> AttrDict:
        out = AttrDict()
        force = self.force
        for key, child in node.items():
            out[key] = force(child) if isinstance(child, Slot) else self._force_node(child)
        return out

    # -- reading results -----------------------------------------------------------------------

    def lookup(self, path: str | Sequence[str] = "") -> Any:
        """The (unconverted) value at `path`: an option, a group of options, or inside a value."""
        parts = split_path(path) if isinstance(path, str) else list(path)
        node: Any = self.tree
        value: Any = None
        in_tree = True
        for i, part in enumerate(parts):
            if in_tree:
                child = node.get(part)
                if isinstance(child, Slot):
                    value, in_tree = self.force(child), False
                elif isinstance(child, dict):
                    node = child
                elif (
                    node is self.tree
                    and self.freeform_slot is not None
                    and part in self.force(self.freeform_slot)
                ):
                    value, in_tree = self.force(self.freeform_slot)[part], False
                else:
                    raise _not_found(parts, i, node)
            elif isinstance(value, Mapping) and part in value:
                value = value[part]
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                raise _not_found(parts, i, value if isinstance(value, Mapping) else {})
        if in_tree:
            return self.force_all() if node is self.tree else self._force_node(node)
        return value

    def value(self, path: str | Sequence[str] = "") -> Any:
        with gc_paused():
            return to_plain(self.lookup(path))

    def to_json(self, path: str | Sequence[str] = "") -> Any:
        with gc_paused():
            return to_json(self.lookup(path))

    def slots(self) -> list[Slot]:
        return list(_slots(self.tree))


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic GC while building: evaluation allocates many long-lived objects and
    the collector would rescan them again and again (about half the time at 50,000
    options). Cycles made meanwhile are collected after, as usual."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


_SLOW: Any = object()


def _fast_scalar(typ: Any, defs: list[tuple[Any, Module]], option: Option | None) -> Any:
    """The common case, without building discharge lists: one winning scalar definition.

    Plain values and single `Override` wrappers only; anything else (conditions,
    orders, lazy values, several winners, a failing check) takes the general path.
    """
    if typ.__class__ is not Scalar:
        return _SLOW
    best = OPTION_DEFAULT_PRIORITY if option is not None else 1 << 30
    winner: Any = option.default if option is not None else _SLOW
    count = 1 if option is not None else 0
    for value, _ in defs:
        if value.__class__ is Override:
            prio = value.priority
            value = value.content
            if isinstance(value, Property):
                return _SLOW
        elif isinstance(value, Property):
            return _SLOW
        else:
            prio = 100
        if prio < best:
            best, winner, count = prio, value, 1
        elif prio == best:
            count += 1
    if count != 1 or isinstance(winner, Property) or not typ.check(winner):
        return _SLOW
    return winner


def split_path(path: str) -> list[str]:
    """`a.b."c.d".e` -> [a, b, c.d, e]; the empty path is the whole configuration."""
    return [p for p in split_key(path) if p] if path else []


def _not_found(parts: Sequence[str], i: int, node: Mapping[str, Any]) -> EvaluationError:
    return MissingAttributeError(
        f"attribute `{parts[i]}' in selection path `{show_path(parts)}' not found"
        + did_you_mean(parts[i], [str(k) for k in node], parts[:i])
    )


def _slots(node: dict[str, Any]) -> Any:
    for child in node.values():
        if isinstance(child, dict):
            yield from _slots(child)
        else:
            yield child


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


def _recursive_update(base: Mapping[str, Any], top: Mapping[str, Any]) -> AttrDict:
    out = AttrDict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _recursive_update(out[key], value)
        else:
            out[key] = value
    return out


def _record_assumptions(stack: list[Any], slot: Slot) -> None:
    ev = slot.ev
    for i, frame in enumerate(stack):
        if isinstance(frame, ModuleFrame) and frame.ev is ev and slot not in frame.assumed:
            frame.assumed[slot] = tuple(stack[i:])


def _reader_line(rt: Runtime) -> str | None:
    """file:line in the running module's source that is reading an option now."""
    for frame in reversed(rt.stack):
        if isinstance(frame, ModuleFrame):
            file = frame.module.file
            f = sys._getframe(2)
            while f is not None:
                if f.f_code.co_filename == file:
                    from declos.config.modules import display_path

                    return f"{display_path(file)}:{f.f_lineno}"
                f = f.f_back
            return None
        return None
    return None
