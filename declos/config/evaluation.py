"""The evaluator: the demand-driven, eager fixed point of the module system.

Reading an option forces it: every function module that has not run yet is run first
(it may define the option), then the option's definitions are merged and cached.
A module that is still running when an option is computed is *assumed* not to define
it; the assumption is checked when the module returns, and a broken one is a cycle,
reported with the whole chain (see `declos.config.cycles`).

The option tree is built by `declarations`, definitions reach their options through
`routing`, one option's value is computed by `forcing`; this module runs modules,
forces options in order and is the public read API (`value`, `to_json`, `export_json`,
`definition_sites`).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path, PurePath
from types import FrameType
from typing import Any

from declos.config import cycles
from declos.config.declarations import attach_nested_declarations, declare, place_redirect
from declos.config.errors import EvaluationError, MissingAttributeError
from declos.config.evalmodules import EvalResult
from declos.config.forcing import SLOW, fast_scalar, merge_slot
from declos.config.loaders import collect
from declos.config.locations import display_path, split_path
from declos.config.merge import NoValueError
from declos.config.messages import did_you_mean, show_path
from declos.config.modules import (
    MODULE_ATTRS,
    NOT_RUN,
    RAN,
    RUNNING,
    DerivedModule,
    InlineModule,
    Module,
    call_module_function,
    fill_from_module_dict,
)
from declos.config.option import Option
from declos.config.properties import Lazy, Property
from declos.config.routing import route
from declos.config.runtime import Runtime, gc_paused
from declos.config.slot import (
    DONE,
    MERGING,
    UNFORCED,
    ModuleFrame,
    OptionFrame,
    RedirectNode,
    Slot,
    iter_slots,
)
from declos.config.submodule import OwnModules, Submodule
from declos.config.templates import Template
from declos.config.typesys import FromConfig, OptionType, as_freeform
from declos.config.usercode import (
    USER_FAILURES,
    output_to_stderr,
    read_site_error,
    user_code_error,
)
from declos.config.values import AttrDict, to_json, to_plain
from declos.config.view import ConfigView, OptionsView, instance_value, overlay


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
        special: Mapping[str, Any] | None = None,
    ) -> None:
        self.rt = rt
        self.special: dict[str, Any] = dict(rt.special if special is None else special)
        """The special args this evaluation's module functions receive."""
        self.modules = list(modules)
        self.sources: list[Any] = list(modules)
        """The modules this evaluation was asked for, before imports were collected (NixOS's
        `modules` argument of evalModules): what `module_type` and `extend_modules` reuse."""
        self.prefix = prefix
        self.name = name
        self.tree: dict[str, Any] = {}
        self.freeform_slot: Slot | None = None
        self.runs: list[_Run] = []
        self.pending_left = 0
        self.config = ConfigView(self, self.tree, prefix)
        self.options = OptionsView(self.tree, prefix)
        self.module_class: str | None = None
        """NixOS `class`: every module's `_class` must be it (or unset); modules get it as `_class`."""
        self.warnings: list[str] = []
        self.undeclared: list[EvaluationError] = []
        self._module_type: Any = None
        self.special_given: dict[str, Any] = {}
        """The special args given to this evaluation itself (NixOS's `specialArgs` module
        argument): `evaluate(special_args=)`'s, or a `submodule_with`'s own."""
        """Definitions of options that do not exist (an error unless `_module.check` is false)."""

    # -- setup ---------------------------------------------------------------------------

    def setup(self) -> Evaluation:
        for module in self.modules:
            for path, option in module.options:
                declare(self, path, option, module)
            for redirect in module.redirects:
                place_redirect(self, redirect, module)
        attach_nested_declarations(self.tree)
        self.freeform_slot = self._freeform_slot()
        for module in self.modules:
            if module.is_function:
                self.runs.append(_Run(module))
            elif module.config:
                for slot, definition in route(self, module, module.config):
                    slot.defs.append(definition)
        self.pending_left = len(self.runs)
        return self

    def _freeform_slot(self) -> Slot | None:
        """One option for all undeclared definitions, typed by the modules' freeform types
        merged (NixOS `_module.freeformType`: declared in several modules, one type)."""
        found = [(m.freeform, m) for m in self.modules if m.freeform is not None]
        if not found:
            return None
        merged: Any = None
        first: Module = found[0][1]
        for typ, module in found:
            wrapped = as_freeform(typ)
            combined = wrapped if merged is None else merged.type_merge(wrapped)
            if combined is None:
                raise EvaluationError(
                    f"The freeform type of module `{module.display()}' (`{wrapped.description}') cannot be "
                    f"merged with the one of `{first.display()}' (`{merged.description}').\n"
                    "Hint: give every module the same freeform_type (or leave it to one of them)."
                )
            merged = combined
        option = Option(merged, _where=(first.file, first.line or 0))
        return Slot(self, self.prefix, option, first)

    def check_declared(self) -> None:
        """Raise the first definition of an undeclared option, unless `_module.check` is false."""
        if not self.undeclared:
            return
        node = self.tree.get("_module")
        check = node.get("check") if isinstance(node, dict) else None
        if isinstance(check, Slot) and self.force(check) is False:
            return
        raise self.undeclared[0]

    # -- running function modules ---------------------------------------------------------------

    def run_pending(self) -> None:
        for run in self.runs:
            if run.state == NOT_RUN:
                self._run(run)

    def _run(self, run: _Run) -> None:
        module = run.module
        run.state = RUNNING
        self.pending_left -= 1
        rt = self.rt
        frame = ModuleFrame(module, self)
        rt.stack.append(frame)
        rt.module_depth += 1
        try:
            result = call_module_function(module.config, self.module_args(), self._module_args)
        except MissingAttributeError as exc:
            raise read_site_error(exc, module.file) from None
        except EvaluationError:
            raise
        except RecursionError:
            raise EvaluationError(
                f"infinite recursion while running module `{module.where_self()}'.\n{cycles.HINT}"
            ) from None
        except USER_FAILURES as exc:  # report failures of user code at their line
            raise user_code_error(
                exc, module.file, f"while running the config function of `{module.where_self()}'"
            ) from None
        finally:
            rt.stack.pop()
            rt.module_depth -= 1
        if result is None:
            raise EvaluationError(
                f"{module.where_self()}: the config function of `{module.display()}' returned "
                "None; it must return a dict of definitions (a forgotten `return'?).\n"
                "Hint: return {} to define nothing."
            )
        if not isinstance(result, Mapping | Property):
            raise EvaluationError(
                f"module `{module.where_self()}' does not look like a module: its config "
                f"function returned {_kind(result)}, not a dict of definitions."
                '\nHint: return a dict such as {"services.x.enable": True}, or {} to define nothing.'
            )
        routed = route(self, module, result)
        if frame.assumed:
            for slot, _ in routed:
                if slot in frame.assumed:
                    raise cycles.module_cycle(module, slot, frame.assumed[slot])
        for slot, definition in routed:
            slot.defs.append(definition)
        run.state = RAN

    def _module_args(self) -> Mapping[str, Any]:
        """`config._module.args` ({} in evaluations that do not declare it)."""
        node = self.tree.get("_module")
        slot = node.get("args") if isinstance(node, dict) else None
        return self.force(slot) if isinstance(slot, Slot) else {}

    def module_args(self) -> dict[str, Any]:
        args = dict(self.special)
        args.update(
            config=self.config,
            pkgs=self.rt.pkgs,
            lib=self.special["lib"] if "lib" in self.special else self.rt.lib,
            options=self.options,
            special_args=self.special_given,
            name=self.name,
            _class=self.module_class,
            _prefix=list(self.prefix),
            module_type=self.module_type(),
            extend_modules=self.extend_modules,
        )
        return args

    def module_type(self, extra: Sequence[Any] = ()) -> Any:
        """NixOS `moduleType` (with `extra`: `(extendModules {modules}).type`): this
        evaluation's modules as a submodule type, its special args and class kept."""
        if not extra and self._module_type is not None:
            return self._module_type
        typ = Submodule(
            *self.sources,
            *extra,
            special_args=self.special,
            shorthand_only_defines_config=False,
            module_class=self.module_class,
            _where=(self.modules[0].file, None) if self.modules else ("<evaluation>", None),
        )
        if not extra:
            self._module_type = typ
        return typ

    def extend_modules(self, modules: Sequence[Any] = ()) -> EvalResult:
        """NixOS `extendModules { modules; }`: this evaluation again with `modules` added
        (a new evaluation, at the same prefix, run when its `config`/`options` is read);
        the result has `config`, `options`, `type` and `class`."""
        extra = [
            InlineModule.from_spec(m, "<unknown-file>", None, f"<extend-{id(self)}-{i}>")
            if isinstance(m, Mapping)
            else Path(m)
            if isinstance(m, str)
            else m
            for i, m in enumerate(modules)
        ]
        return EvalResult(lambda: self.extended(extra), self.module_class, self.module_type(extra))

    def extended(self, extra: Sequence[Any]) -> Evaluation:
        """The evaluation of this one's modules plus `extra` (see extend_modules)."""
        sources = [*self.sources, *extra]
        imports_args = {**self.special, "_class": self.module_class}
        collected = collect(sources, imports_args, module_class=self.module_class)
        child = Evaluation(self.rt, collected, self.prefix, self.name, self.special)
        child.sources = sources
        child.special_given = self.special_given
        child.module_class = self.module_class
        child.setup()
        child.run_pending()
        child.check_declared()
        return child

    # -- forcing ---------------------------------------------------------------------------

    def force(self, slot: Slot) -> Any:
        if slot.state == DONE:
            return slot.value
        if slot.state == MERGING:
            raise cycles.value_cycle(slot, self.rt.stack, _reader_line(self.rt))
        if slot.conflict is not None:
            raise EvaluationError(slot.conflict)
        if isinstance(slot.type, FromConfig):
            self.declare_from_config(slot)
        if not slot.ev.pending_left and not self.rt.module_depth and len(slot.decls) == 1:
            option = slot.decls[0][0]
            if option.apply is None and not option.read_only:
                value = fast_scalar(slot.type, slot.defs, slot.default_option)
                if value is not SLOW:
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
                value = merge_slot(ev, slot)
            except NoValueError:
                slot.state = UNFORCED
                cycle = cycles.pending_definer(stack, slot) if self.rt.module_depth else None
                if cycle is not None:
                    raise cycle from None
                raise
            except BaseException:
                slot.state = UNFORCED
                raise
            slot.value = value
            slot.state = DONE
            return value
        finally:
            stack.pop()

    def declare_from_config(self, slot: Slot) -> None:
        """Compute an option declaration or type that is a configuration value (see
        FromConfig) and put it in place; NixOS's `anOption = config.theOption`."""
        stand_in = slot.type
        option, module = slot.decls[0]
        found = slot.ev.resolve_lazy(stand_in.lazy, module, slot.path)
        want = Option if stand_in.whole else OptionType
        if not isinstance(found, want) or isinstance(found, FromConfig):
            what = "option declaration" if stand_in.whole else "option type"
            raise EvaluationError(
                f"The {what} of `{show_path(slot.path)}' (declared in `{option.where()}') is "
                f"computed from the configuration, which gave {found!r}, not an {what}."
            )
        if isinstance(found, Option):
            slot.decls[0] = (found, module)
            slot.type = found.type
            slot.default_option = found if found.has_default else None
        else:
            slot.type = found

    def resolve_lazy(self, value: Lazy, module: Module, loc: Sequence[str]) -> Any:
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
        except USER_FAILURES as exc:  # user code
            file = code.co_filename if code else module.file
            raise user_code_error(
                exc,
                file,
                f"while computing the lazy value of `{show_path(loc)}' defined in `{module.where(loc)}'",
            ) from None

    def template_scope(self) -> dict[str, Any]:
        scope = dict(self.special)
        lib = self.special["lib"] if "lib" in self.special else self.rt.lib
        scope.update(config=self.config, pkgs=self.rt.pkgs, lib=lib, options=self.options)
        if self.name is not None:
            scope["name"] = self.name
        return scope

    def config_value(self) -> Any:
        """The configuration as a lazy value (`_module` left out), as a submodule
        instance's value reads (see InstanceValue)."""
        return instance_value(self)

    def submodule_value(
        self, typ: Any, loc: Sequence[str], defs: Sequence[tuple[Any, Module]]
    ) -> Any:
        """A submodule instance's value: lazy per option, as in NixOS (see InstanceValue)."""
        return self.submodule_evaluation(typ, loc, defs).config_value()

    def submodule_evaluation(
        self, typ: Any, loc: Sequence[str], defs: Sequence[tuple[Any, Module]]
    ) -> Evaluation:
        """The nested evaluation of one submodule instance (its modules run, checked)."""
        name = loc[-1] if loc else None
        file, line = typ.where
        site = Module(file, f"{file}#lazy-spec", line=line)
        modules: list[Any] = typ.modules_for(name, lambda spec: self._spec(spec, site, loc))
        modules += [
            Path(m.file).parent / v
            if isinstance(v, PurePath)
            else self._definition_module(typ, v, m)
            for v, m in defs
        ]
        special = {**self.special, **typ.special_args}
        module_class = typ.module_class
        if module_class is None and typ.own_modules():
            module_class = self.module_class
        imports_args = {**special, "_class": module_class}
        collected = collect(modules, imports_args, module_class=module_class)
        child = Evaluation(self.rt, collected, tuple(loc), name, special)
        child.sources = modules
        child.special_given = dict(typ.special_args)
        child.module_class = module_class
        child.setup()
        child.run_pending()
        child.check_declared()
        return child

    def _spec(self, spec: Any, site: Module, loc: Sequence[str]) -> Any:
        """A submodule spec computed in this (the declaring) evaluation: a `lazy` spec's
        value, or a `module_type`'s modules (this evaluation's own, plus its extra ones)."""
        if isinstance(spec, OwnModules):
            return [*self.sources, *spec.extra]
        return self.resolve_lazy(spec, site, loc)

    def _shorthand(self, typ: Any) -> bool:
        """The type's shorthand_only_defines_config, computed in this (the declaring)
        evaluation when it is `lazy`; declarations that disagree are NixOS's error."""
        given = typ.shorthand_only_defines_config
        file, line = typ.where
        site = Module(file, f"{file}#lazy-spec", line=line)
        found = {
            bool(self.resolve_lazy(v, site, ()) if isinstance(v, Lazy) else v)
            for v in (given if isinstance(given, tuple) else (given,))
        }
        if len(found) > 1:
            raise EvaluationError(
                "A submoduleWith option is declared multiple times with conflicting "
                "shorthandOnlyDefinesConfig values"
            )
        return found.pop()

    def _definition_module(self, typ: Any, value: Any, module: Module) -> Module:
        """A definition of a submodule option as a module of the instance: its config, or
        (`submodule_with`, unless shorthand_only_defines_config) a full module when it has
        `options`/`config` keys."""
        derived = DerivedModule(module, value, self)
        if (
            isinstance(value, Mapping)
            and not self._shorthand(typ)
            and {"options", "config", "imports", "_class"} & set(value)
            and set(value) <= set(MODULE_ATTRS)
        ):
            fill_from_module_dict(derived, value, module)
        return derived

    def force_all(self) -> AttrDict:
        """The whole configuration: every option (renamed and removed paths left out, and
        `_module` at the top, which holds the evaluation's own settings)."""
        declared = self._force_node(self.tree, top=True)
        if self.freeform_slot is None:
            return declared
        return overlay(self.force(self.freeform_slot), declared)

    def _force_node(self, node: dict[str, Any], top: bool = False) -> AttrDict:
        out = AttrDict()
        force = self.force
        for key, child in node.items():
            if isinstance(child, Slot):
                out[key] = force(child)
            elif isinstance(child, dict):
                if not (top and key == "_module") and next(iter_slots(child), None) is not None:
                    out[key] = self._force_node(child)
        return out

    # -- reading results -----------------------------------------------------------------------

    def lookup(self, path: str | Sequence[str] = "") -> Any:
        """The (unconverted) value at `path`: an option, a group of options, or inside a value."""
        with output_to_stderr():
            return self._lookup(split_path(path) if isinstance(path, str) else list(path))

    def _lookup(self, parts: list[str]) -> Any:
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
                elif isinstance(child, RedirectNode):
                    target = self.follow(child)
                    use = child.redirect.use
                    if use is None:
                        return self._lookup([*target[len(self.prefix) :], *parts[i + 1 :]])
                    value, in_tree = use(self._lookup(list(target[len(self.prefix) :]))), False
                elif self.in_freeform(parts[: i + 1]):
                    value, in_tree = self.freeform_at(parts[: i + 1]), False
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

    def freeform_at(self, parts: Sequence[str]) -> Any:
        value: Any = self.force(self.freeform_slot) if self.freeform_slot is not None else {}
        for part in parts:
            value = value[part]
        return value

    def in_freeform(self, parts: Sequence[str]) -> bool:
        """Whether the freeform value holds `parts` (below declared groups, too)."""
        if self.freeform_slot is None:
            return False
        value: Any = self.force(self.freeform_slot)
        for part in parts:
            if not isinstance(value, Mapping) or part not in value:
                return False
            value = value[part]
        return True

    def lookup_view(self, path: Sequence[str]) -> Any:
        """What `config` shows at a full option path: a view of a group, or a value."""
        node: Any = self.tree
        for part in path[len(self.prefix) :]:
            child = node.get(part) if isinstance(node, dict) else None
            if not isinstance(child, dict):
                return self.lookup(list(path[len(self.prefix) :]))
            node = child
        return ConfigView(self, node, tuple(path))

    def follow(self, node: RedirectNode) -> tuple[str, ...]:
        """The full path a renamed/aliased option stands for; reading a removed one is an error."""
        redirect = node.redirect
        if redirect.kind == "removed":
            raise EvaluationError(
                f"The option `{show_path(self.prefix + redirect.source)}' can no longer be used since it's been "
                f"removed. {redirect.message}"
            )
        return self.prefix + redirect.target

    def value(self, path: str | Sequence[str] = "") -> Any:
        with gc_paused(), _bounded(path):
            return to_plain(self.lookup(path))

    def to_json(self, path: str | Sequence[str] = "") -> Any:
        with gc_paused(), _bounded(path):
            return to_json(self.lookup(path))

    def slots(self) -> list[Slot]:
        return list(iter_slots(self.tree))

    # -- the public read API (what `declos.system` uses) -------------------------------------

    def option_paths(self) -> list[tuple[str, ...]]:
        """The path of every declared option, in declaration order."""
        return [slot.path for slot in iter_slots(self.tree)]

    def export_json(self) -> dict[str, Any]:
        """The whole configuration as JSON values (`to_json`), except options that have no
        value (no default and never defined, e.g. a disabled service's required option)."""
        with gc_paused(), _bounded(""):
            try:
                data = to_json(self.lookup(""))
            except EvaluationError:
                data = self._export_defined()
        return data if isinstance(data, dict) else {}

    def _export_defined(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for slot in iter_slots(self.tree):
            try:
                value = to_json(self.lookup(list(slot.path)))
            except EvaluationError:
                continue
            node = data
            for part in slot.path[:-1]:
                node = node.setdefault(part, {})
            node[slot.path[-1]] = value
        return data

    def definition_sites(self, path: Sequence[str]) -> list[str]:
        """file:line of each definition of the option at `path`; for a path inside an
        option's value (an attribute set), only the definitions that set the next key.
        [] when `path` is not below a declared option."""
        node: Any = self.tree
        for index, part in enumerate(path):
            if not isinstance(node, dict) or part not in node:
                return []
            child = node[part]
            if isinstance(child, Slot):
                return _sites(child, path, tuple(path[index + 1 :]))
            node = child
        return []


@contextmanager
def _bounded(path: str | Sequence[str]) -> Iterator[None]:
    """Python's recursion limit while forcing a value whole is an evaluation error: a
    value nested without end (a `module_type` instance whose default is another one,
    as in NixOS, where printing it never ends) cannot be printed whole."""
    try:
        yield
    except RecursionError:
        shown = path if isinstance(path, str) else show_path(path)
        raise EvaluationError(
            f"infinite recursion while reading `{shown or 'the whole configuration'}': its value is "
            "nested without end (e.g. an instance of types.module_type whose default is another "
            "instance), or a lazy value reads itself.\nHint: read a part of it (-A PATH)."
        ) from None


def _not_found(parts: Sequence[str], i: int, node: Mapping[str, Any]) -> EvaluationError:
    return MissingAttributeError(
        f"attribute `{parts[i]}' in selection path `{show_path(parts)}' not found"
        + did_you_mean(parts[i], [str(k) for k in node], parts[:i])
    )


def _kind(value: Any) -> str:
    """A value's kind in an error: "a list", "the bool True"."""
    if isinstance(value, bool | int | float | str):
        return f"the {type(value).__name__} {value!r}"
    return f"a {type(value).__name__}"


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
            f: FrameType | None = sys._getframe(2)
            while f is not None:
                if f.f_code.co_filename == file:
                    return f"{display_path(file)}:{f.f_lineno}"
                f = f.f_back
            return None
        return None
    return None


def _sites(slot: Slot, path: Sequence[str], rest: tuple[str, ...]) -> list[str]:
    sites: list[str] = []
    for value, module in slot.defs:
        if rest and isinstance(value, Mapping) and rest[0] not in value:
            continue
        where = module.where(_deepest(path, rest, value))
        if where not in sites:
            sites.append(where)
    return sites


def _deepest(path: Sequence[str], rest: Sequence[str], value: Any) -> tuple[str, ...]:
    """The path down to the first key this definition sets below `path`: a module's
    locator is exact for the keys it wrote, not always for a prefix of a dotted key."""
    sub = value
    for key in rest:
        sub = sub.get(key) if isinstance(sub, Mapping) else None
    full = tuple(path)
    if isinstance(sub, Mapping) and sub:
        full += (str(next(iter(sub))),)
    return full
