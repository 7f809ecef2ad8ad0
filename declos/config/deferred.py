"""`types.deferred_module`: an option whose definitions are modules, imported elsewhere
(NixOS `deferredModule`), e.g. a default module every instance of a submodule imports.

The merged value is itself a module (a `Module` whose imports are the definitions), so
it can stand wherever a module can: in `imports`, as a submodule spec, in `evaluate`.
Each definition becomes a module whose file is shown as "FILE:LINE, via option LOC",
NixOS's `setDefaultModuleLocation "${file}, via option ${loc}"`.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from declos.config.errors import EvaluationError
from declos.config.messages import Definition, show_path
from declos.config.modules import (
    MODULE_ATTRS,
    InlineModule,
    Module,
    fill_from_module_dict,
)
from declos.config.option import Option
from declos.config.properties import Property
from declos.config.typesys import OptionType

_MERGES = itertools.count()


class DeferredDefinition(Module):
    """One definition of a deferred-module option, as a module of wherever it is imported.

    Lazy values of a dict definition see the configuration of the module that wrote it
    (like a submodule definition's); a function definition's see the instance's."""

    kind = "deferred"

    def __init__(self, origin: Module, loc: Sequence[str], scope: Any, key: str) -> None:
        super().__init__(origin.file, key, line=origin.line)
        self.origin = origin
        self.loc = tuple(loc)
        self.scope = origin.scope or scope

    def display(self) -> str:
        return f"{self.origin.display()}, via option {show_path(self.loc)}"

    def locate(self, section: str, path: Sequence[str]) -> int | None:
        return self.origin.locate("config", self.loc)

    def where(self, path: Sequence[str]) -> str:
        return f"{self.origin.where(self.loc)}, via option {show_path(self.loc)}"

    def where_self(self) -> str:
        return self.where(())


def module_of_definition(value: Any, origin: Module, loc: Sequence[str], scope: Any) -> Any:
    """A definition value as something `collect` imports: a Module, or a module file path
    (relative paths are relative to the defining module's file)."""
    if isinstance(value, Module):
        return value
    if isinstance(value, str | os.PathLike):
        return Path(origin.file).parent / value
    module = DeferredDefinition(origin, loc, scope, f"{origin.key}#deferred{next(_MERGES)}")
    if callable(value) and not isinstance(value, Property):
        module.config = value
        module.scope = origin.scope  # its lazy values see the config the function got
    elif (
        isinstance(value, Mapping)
        and set(value) & set(MODULE_ATTRS)
        and not any(isinstance(v, Option) for v in value.values())
    ):
        fill_from_module_dict(module, value, origin)
    elif isinstance(value, Mapping):
        module.config = value
    else:
        raise EvaluationError(
            f"In `{module.where(())}': a module must be an attribute set, a function or a path, "
            f"not {value!r}."
        )
    return module


class DeferredModule(OptionType):
    """NixOS `deferredModuleWith { staticModules }`: description "module"; a definition
    is an attribute set, a function or a path; the merge is a module importing the
    static modules, then every definition (in definition order)."""

    name = "deferredModule"
    description = "module"
    description_class = "noun"

    def __init__(self, static_modules: Sequence[Any] = ()) -> None:
        self.static_modules = list(static_modules)

    def check(self, value: Any) -> bool:
        return (
            isinstance(value, Mapping | str | os.PathLike | Module)
            or callable(value)
            and not isinstance(value, Property)
        )

    def merge(self, ev: Any, loc: Sequence[str], defs: Sequence[Definition]) -> Any:
        imports = [*self.static_modules]
        imports += [module_of_definition(v, m, loc, ev) for v, m in defs]
        first = defs[0][1] if defs else None
        file = first.file if first is not None else "<deferred module>"
        return InlineModule(
            file, f"deferred:{show_path(loc)}#{next(_MERGES)}", imports=imports, config={}
        )

    def type_merge(self, other: OptionType) -> OptionType | None:
        if isinstance(other, DeferredModule):
            return DeferredModule([*self.static_modules, *other.static_modules])
        return None


__all__ = ["DeferredDefinition", "DeferredModule", "module_of_definition"]
