"""The `submodule` type: definitions merge as one nested module evaluation."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any

from declos.config.errors import EvaluationError
from declos.config.locations import display_path
from declos.config.messages import Definition
from declos.config.modules import InlineModule, Module
from declos.config.properties import Lazy
from declos.config.suboptions import sub_option_tree
from declos.config.typesys import NOUN_COMPOSITE, OptionType, phrase
from declos.config.values import AttrDict


class OwnModules:
    """A submodule spec standing for the modules of the evaluation that declares the
    option (plus `extra`): NixOS's `moduleType` module argument, and the `type` of
    `extendModules { modules = extra; }`. declos declares options before module
    arguments exist, so the type says what it stands for and the declaring evaluation
    fills it in when it makes an instance."""

    __slots__ = ("extra",)

    def __init__(self, extra: Sequence[Any] = ()) -> None:
        self.extra = tuple(extra)


class Submodule(OptionType):
    """Each spec is an options dict, a module dict, a Module, or `fn(name)` returning one."""

    name = "submodule"
    nested = True

    def __init__(
        self,
        *specs: Any,
        description: str | None = None,
        _where: tuple[str, int | None] | None = None,
        special_args: Mapping[str, Any] | None = None,
        shorthand_only_defines_config: Any = True,
        module_class: str | None = None,
    ) -> None:
        self.specs = list(specs)
        self.module_class = module_class
        """NixOS `submoduleWith { class }`: the class its modules must have (or not set)."""
        self.special_args = dict(special_args or {})
        self.shorthand_only_defines_config = shorthand_only_defines_config
        """A bool, a `lazy` value computed from the declaring evaluation's config (NixOS
        allows `shorthandOnlyDefinesConfig = config.x`), or a tuple of those when
        declarations merged (all must agree once computed)."""
        self.explicit_description = description
        self.description = description or _describe(self.specs)
        if _where is None:
            frame = sys._getframe(1)
            if frame.f_code.co_filename.endswith("declos/config/types.py"):
                frame = frame.f_back or frame
            _where = (frame.f_code.co_filename, frame.f_lineno)
        self.where = _where
        self._cache: dict[int, Module] = {}

    def check(self, value: Any) -> bool:
        """A dict, a function module, or a module file (a `pathlib.Path`, as NixOS takes a
        path: plain strings stay values, not files)."""
        return isinstance(value, Mapping | PurePath) or callable(value)

    def modules_for(
        self, name: str | None, resolve: Callable[[Any], Any] | None = None
    ) -> list[Any]:
        """The declaring modules of one instance (`name` is its attribute name). A `lazy`
        spec (e.g. `lazy(lambda config: config.default)`, a deferred module option) is
        computed by `resolve` in the evaluation that declares the submodule option."""
        out: list[Any] = []
        file, line = self.where
        for i, spec in enumerate(self.specs):
            if isinstance(spec, OwnModules):
                if resolve is not None:
                    out += resolve(spec)
                continue
            if isinstance(spec, Lazy):
                if resolve is None:
                    continue
                spec = resolve(spec)
                if isinstance(spec, str):
                    spec = Path(file).parent / spec
            if isinstance(spec, Module | Path):
                out.append(spec)
            elif isinstance(spec, Mapping):
                cached = self._cache.get(i)
                if cached is None:
                    cached = InlineModule.from_spec(
                        spec, display_path(file), line, f"{file}:{line}#sub{id(self)}-{i}"
                    )
                    self._cache[i] = cached
                out.append(cached)
            elif callable(spec):
                made = _call_spec(spec, name)
                out.append(
                    InlineModule.from_spec(
                        made, display_path(file), line, f"{file}:{line}#sub{id(self)}-{i}-{name}"
                    )
                )
            else:
                out.append(
                    InlineModule.from_spec(spec, display_path(file), line, f"{file}:{line}#bad")
                )
        return out

    def own_modules(self) -> bool:
        """Whether this is a `module_type` (see OwnModules)."""
        return any(isinstance(spec, OwnModules) for spec in self.specs)

    def merge(self, ev: Any, loc: Sequence[str], defs: Sequence[Definition]) -> Any:
        return ev.submodule_value(self, loc, defs)

    def empty_value(self, ev: Any, loc: Sequence[str]) -> Any:
        return ev.submodule_value(self, loc, [])

    def type_merge(self, other: OptionType) -> OptionType | None:
        if isinstance(other, Submodule):
            mine, theirs = self.module_class, other.module_class
            if mine is not None and theirs is not None and mine != theirs:
                raise EvaluationError(
                    "A submoduleWith option is declared multiple times with conflicting class "
                    f'values "{theirs}" and "{mine}".'
                )
            return Submodule(
                *self.specs,
                *other.specs,
                description=self.explicit_description,
                _where=self.where,
                special_args={**self.special_args, **other.special_args},
                shorthand_only_defines_config=_merge_shorthand(
                    self.shorthand_only_defines_config, other.shorthand_only_defines_config
                ),
                module_class=mine if mine is not None else theirs,
            )
        return None

    def with_modules(self, modules: Sequence[Module]) -> Submodule:
        return Submodule(
            *self.specs,
            *modules,
            description=self.explicit_description,
            _where=self.where,
            special_args=self.special_args,
            shorthand_only_defines_config=self.shorthand_only_defines_config,
            module_class=self.module_class,
        )

    def sub_options(self) -> tuple[str, Any] | None:
        return ("", self)

    def declared_options(self, base: Sequence[str]) -> Any:
        """The options this submodule's modules declare, at `base` (see suboptions.py)."""
        return sub_option_tree(self, base)


def module_type_with(
    modules: Sequence[Any] = (), _where: tuple[str, int | None] | None = None
) -> Submodule:
    """The type of the declaring evaluation's own modules plus `modules` (NixOS:
    `moduleType` when `modules` is empty, `(extendModules { inherit modules; }).type`
    otherwise). Dicts in `modules` are module dicts, as in `imports`."""
    if _where is None:
        frame = sys._getframe(1)
        if frame.f_code.co_filename.endswith("declos/config/types.py"):
            frame = frame.f_back or frame
        _where = (frame.f_code.co_filename, frame.f_lineno)
    file, line = _where
    extra = [
        InlineModule.from_spec(m, display_path(file), line, f"{file}:{line}#extend-{i}")
        if isinstance(m, Mapping)
        else m
        for i, m in enumerate(modules)
    ]
    return Submodule(OwnModules(extra), _where=_where, shorthand_only_defines_config=False)


def _merge_shorthand(mine: Any, theirs: Any) -> Any:
    """Two declarations' shorthand_only_defines_config: two bools, the first (declos's
    rule); a `lazy` one cannot be compared yet, so both are kept (see Evaluation)."""
    if mine is theirs or not (isinstance(mine, Lazy | tuple) or isinstance(theirs, Lazy | tuple)):
        return mine
    return (*_candidates(mine), *_candidates(theirs))


def _candidates(value: Any) -> tuple[Any, ...]:
    return value if isinstance(value, tuple) else (value,)


def _describe(specs: Sequence[Any]) -> str:
    """ "submodule", or NixOS's "open submodule of T" when a spec has a freeform type."""
    for spec in specs:
        freeform = (
            spec.freeform
            if isinstance(spec, Module)
            else spec.get("freeform_type")
            if isinstance(spec, Mapping)
            else None
        )
        if isinstance(freeform, OptionType):  # as given (NixOS), even when not attrs_of
            return f"open submodule of {phrase(freeform, NOUN_COMPOSITE)}"
    return "submodule"


def _call_spec(spec: Callable[..., Any], name: str | None) -> Any:
    code = getattr(spec, "__code__", None)
    if code is not None and code.co_argcount == 0:
        return spec()
    return spec(name if name is not None else "<name>")


__all__ = ["AttrDict", "OwnModules", "Submodule", "module_type_with"]
