"""Modules: what one file (or inline dict) declares and defines, and where.

Loading files is `declos.config.loaders`' job; this layer only holds loaded modules.

Source lines are found lazily: loading keeps only values, and an error asks the module
for the line of an option path, which re-reads the file then. This keeps the hot path
(large module sets) free of per-definition bookkeeping.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from declos.config.errors import EvaluationError
from declos.config.locations import display_path, split_key
from declos.config.messages import show_path
from declos.config.option import Option
from declos.config.properties import Lazy, Property
from declos.config.render import escape_nix_string
from declos.config.typesys import FromConfig, OptionType

NOT_RUN, RUNNING, RAN = 0, 1, 2
MODULE_ATTRS = (
    "imports",
    "options",
    "config",
    "freeform_type",
    "key",
    "disabled_modules",
    "_class",
    "_file",
)
"""The attributes a module (Python file, YAML file, module dict) may have."""
_ATTRS_TEXT = ", ".join(f"`{a}'" for a in MODULE_ATTRS)
_DEFINITIONS = itertools.count()


class Redirect:
    """An option path that stands for another one (`kind` "alias" or "renamed"), or that
    was removed ("removed": definitions are recorded, reading it is an error).

    Made by the `mk_*_option_module` family (`declos.config.renames`); definitions under
    `source` are routed to `target` with their own priorities and their own file:line.
    """

    __slots__ = ("source", "target", "kind", "message", "condition", "use")

    def __init__(
        self,
        source: Sequence[str],
        target: Sequence[str],
        kind: str,
        message: str = "",
        condition: Any = None,
        use: Callable[[Any], Any] | None = None,
    ) -> None:
        self.source = tuple(source)
        self.target = tuple(target)
        self.kind = kind
        self.message = message
        self.condition = condition
        """NixOS doRename's `condition`: definitions reach `target` only when it holds
        (a bool, or a `lazy` of the configuration); None: always."""
        self.use = use
        """NixOS doRename's `use`: applied to the target's value when `source` is read."""


class Module:
    """Base: declarations (`options`), definitions (`config`) and imports of one module."""

    kind = "inline"
    module_class: str | None = None
    """NixOS `_class`: the kind of evaluation this module is for ("nixos", ...); None: any."""

    def __init__(
        self,
        file: str,
        key: str,
        *,
        imports: Sequence[Any] = (),
        options: Sequence[tuple[tuple[str, ...], Option]] = (),
        config: Any = None,
        freeform: Any = None,
        line: int | None = None,
        disabled: Sequence[Any] = (),
        redirects: Sequence[Any] = (),
    ) -> None:
        self.file = file
        self.key = key
        self.imports: list[Any] = list(imports)
        """Paths, Modules, or a function of the special args returning a list of them."""
        self.disabled: list[Any] = list(disabled)
        """`disabled_modules`: paths (relative, absolute or library-relative) or {key: K}."""
        self.redirects: list[Any] = list(redirects)
        """Option paths this module makes stand for other paths (`declos.config.renames`)."""
        self.options = list(options)
        self.config = config
        self.freeform = freeform
        self.line = line
        self.scope: Any = None
        """The evaluation whose config its lazy values read; None = the evaluating one."""

    @property
    def is_function(self) -> bool:
        return callable(self.config) and not isinstance(self.config, Property)

    def display(self) -> str:
        return display_path(self.file)

    def locate(self, section: str, path: Sequence[str]) -> int | None:
        return self.line

    def visibly_defines(self, path: Sequence[str]) -> bool:
        """Whether this module's source spells out a definition of `path` (a function
        module's result is known only when it returns; its source may show the key)."""
        return False

    def where(self, path: Sequence[str]) -> str:
        """file:line of the definition of `path` in this module (best effort, exact for YAML)."""
        line = self.locate("config", path)
        return f"{self.display()}:{line}" if line else self.display()

    def import_site(self, index: int) -> str:
        """file:line of the `index`-th entry of this module's `imports` (for errors about
        the imported path; found only when needed)."""
        line = self.locate_import(index)
        return f"{self.display()}:{line}" if line else self.display()

    def locate_import(self, index: int) -> int | None:
        return self.line

    def where_self(self) -> str:
        line = self.locate("config", ())
        return f"{self.display()}:{line}" if line else self.display()

    def __repr__(self) -> str:
        return f"<{self.kind} module {self.display()}>"


class DerivedModule(Module):
    """A definition value of a submodule option, evaluated as a module of the submodule.

    Its lines are those of the definition in `origin`, and its lazy values and Jinja
    strings see the configuration `origin` saw.
    """

    kind = "definition"

    def __init__(self, origin: Module, config: Any, scope: Any) -> None:
        super().__init__(origin.file, f"{origin.key}#def{next(_DEFINITIONS)}", config=config)
        self.origin = origin
        self.scope = origin.scope or scope

    def locate(self, section: str, path: Sequence[str]) -> int | None:
        return self.origin.locate(section, path)

    def where(self, path: Sequence[str]) -> str:
        return self.origin.where(path)


class RedirectedSite(Module):
    """A definition made under a renamed option path, now routed to the new path: its
    lines are still those of the original definition (under the old path)."""

    kind = "definition"

    def __init__(self, origin: Module, source: Sequence[str], target: Sequence[str]) -> None:
        super().__init__(origin.file, origin.key, config=None, line=origin.line)
        self.origin = origin
        self.source = tuple(source)
        self.target = tuple(target)
        self.scope = origin.scope

    def _old(self, path: Sequence[str]) -> Sequence[str]:
        if tuple(path[: len(self.target)]) == self.target:
            return (*self.source, *path[len(self.target) :])
        return path

    def display(self) -> str:
        return self.origin.display()

    def locate(self, section: str, path: Sequence[str]) -> int | None:
        return self.origin.locate(section, self._old(path))

    def where(self, path: Sequence[str]) -> str:
        return self.origin.where(self._old(path))


class DeclarationSite(Module):
    """Where an option's `default` comes from: the option declaration itself."""

    kind = "declaration"

    def __init__(self, option: Option) -> None:
        super().__init__(option.file, option.file, line=option.line)
        self.option = option

    def display(self) -> str:
        return display_path(self.option.file)


def flatten_options(
    tree: Mapping[str, Any], where: str, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Option]]:
    """(path, Option) pairs of a nested or dotted options dict (Python modules)."""
    for key, value in tree.items():
        if not isinstance(key, str) or not key:
            raise EvaluationError(
                f"In module `{where}': option names must be non-empty strings, not {key!r}."
            )
        path = (*prefix, *split_key(key))
        if isinstance(value, Option):
            yield path, value
        elif isinstance(value, Lazy):  # the declaration is a configuration value
            code = getattr(value.fn, "__code__", None)
            site = (code.co_filename, code.co_firstlineno) if code else (where, 0)
            yield path, Option(FromConfig(value, whole=True), _where=site)
        elif isinstance(value, Mapping) and isinstance(value.get("_type"), str):
            raise EvaluationError(  # NixOS: any attribute set with a `_type'
                f"In module {where}: expected an option declaration at option path `{show_path(path)}` "
                f"but got an attribute set with type {value['_type']}.\n"
                "Hint: declare options with Option(type, default, description)."
            )
        elif isinstance(value, Mapping):
            yield from flatten_options(value, where, path)
        elif isinstance(value, OptionType):
            raise EvaluationError(
                f"In module {where}: expected an option declaration at option path `{show_path(path)}` "
                f"but got a type ({value.description}).\n"
                f"Hint: write Option({type(value).__name__.lower()}..., default=..., description=...)"
                " instead of the bare type."
            )
        else:
            raise EvaluationError(
                f"In module {where}: expected an option declaration at option path `{show_path(path)}` "
                f"but got {type(value).__name__} {value!r}.\nHint: declare options with Option(type, default, description)."
            )


class InlineModule(Module):
    """A module given as a Python dict (tests, submodule specs): no file to point into."""

    kind = "inline"

    @classmethod
    def from_spec(cls, spec: Any, file: str, line: int | None, key: str) -> InlineModule:
        """From a submodule spec: an options dict, or a dict with options/config/imports."""
        if isinstance(spec, Module):
            return spec  # type: ignore[return-value]
        if (
            isinstance(spec, Mapping)
            and set(spec) & set(MODULE_ATTRS)
            and not any(isinstance(v, Option) for v in spec.values())
        ):
            unknown = set(spec) - set(MODULE_ATTRS)
            if unknown:
                raise EvaluationError(
                    f"Module `{file}:{line}' has unsupported attribute(s) {', '.join(sorted(map(str, unknown)))}.\n"
                    f"Hint: a module dict has only {_ATTRS_TEXT}."
                )
            file = str(spec.get("_file") or file)
            options = list(flatten_options(spec.get("options") or {}, f"{file}:{line}"))
            if spec.get("_file"):  # NixOS: declarations are where the module says it is
                options = [(path, _declared_in(option, file)) for path, option in options]
            module = cls(
                file,
                str(spec.get("key") or key),
                imports=list(spec.get("imports") or ()),
                options=options,
                config=spec.get("config"),
                freeform=spec.get("freeform_type"),
                line=line,
                disabled=spec.get("disabled_modules") or (),
            )
            module.module_class = module_class_of(spec.get("_class"), file)
            return module
        if isinstance(spec, Mapping) and _holds_options(spec):
            return cls(file, key, options=list(flatten_options(spec, f"{file}:{line}")), line=line)
        if isinstance(spec, Mapping | Property):
            # NixOS: an attribute set without options/config (or an mkIf, mkMerge, ...)
            # is the shorthand for its config.
            return cls(file, key, config=spec, line=line)
        raise EvaluationError(
            f"In `{file}:{line}': a submodule must be a dict of options or a module dict, not {spec!r}."
        )


def _declared_in(option: Option, file: str) -> Option:
    """A copy of `option` whose declaration site is `file` (a module dict's `_file`)."""
    moved = copy.copy(option)
    moved.file, moved.line = file, None
    return moved


def fill_from_module_dict(module: Module, spec: Mapping[str, Any], origin: Module) -> None:
    """Fill `module` from the module-dict form (`imports`/`options`/`config`/...) of a
    definition made in `origin` (a deferred module's, or a submodule_with's)."""
    unknown = set(spec) - set(MODULE_ATTRS)
    if unknown:
        raise EvaluationError(
            f"Module `{module.display()}' has unsupported attribute(s) "
            f"{', '.join(sorted(map(str, unknown)))}.\nHint: move them under `config'."
        )
    base = Path(origin.file).parent
    module.imports = [base / i if isinstance(i, str) else i for i in spec.get("imports") or ()]
    module.options = list(flatten_options(spec.get("options") or {}, module.display()))
    module.config = spec.get("config") or {}
    module.freeform = spec.get("freeform_type")
    module.disabled = list(spec.get("disabled_modules") or ())
    module.module_class = module_class_of(spec.get("_class"), module.file)
    if spec.get("key") is not None:
        module.key = str(spec["key"])


def module_class_of(value: Any, where: str) -> str | None:
    """A module's `_class` (a string, or None for a module of any class)."""
    if value is None or isinstance(value, str):
        return value
    raise EvaluationError(
        f"In module `{display_path(where)}': `_class' must be a string (e.g. \"nixos\"), not {value!r}."
    )


def check_class(modules: Sequence[Module], expected: str | None) -> None:
    """NixOS's class check: with an expected class, every module's `_class` is it or unset."""
    if expected is None:
        return
    for module in modules:
        if module.module_class is not None and module.module_class != expected:
            found, want = escape_nix_string(module.module_class), escape_nix_string(expected)
            raise EvaluationError(
                f"The module `{module.display()}` (class: {found}) cannot be imported into a module "
                f"evaluation that expects class {want}.\n\nHelp:\n"
                "- Ensure that you are importing the correct module.\n"
                f"- Verify that the module's `_class`, {found} matches the expected `class` {want}.\n"
                "- If you are using a custom class, make sure it is correctly defined and used "
                "consistently across your modules."
            )


def _holds_options(spec: Mapping[Any, Any]) -> bool:
    """Whether a dict declares options (an `Option` somewhere in its nested dicts)."""
    for value in spec.values():
        if isinstance(value, Option) or isinstance(value, OptionType):
            return True
        if isinstance(value, Mapping) and _holds_options(value):
            return True
    return False


def parameter_names(fn: Callable[..., Any]) -> tuple[str, ...] | None:
    """The names a function takes (None: it takes **kwargs, or is not a Python function)."""
    code = getattr(fn, "__code__", None)
    if code is None or code.co_flags & 0x08:
        return None
    return tuple(code.co_varnames[: code.co_argcount + code.co_kwonlyargcount])


def call_module_function(
    fn: Callable[..., Any],
    args: Mapping[str, Any],
    module_args: Callable[[], Mapping[str, Any]] | None = None,
) -> Any:
    """Call `config(config, pkgs, lib, options, ...)` by parameter name, or positionally.

    A name that is not a standard or special argument is looked up in `_module.args`
    (`module_args()` reads it); a function whose names are found in neither is called
    positionally with `config, pkgs, lib, options` (the first ones it takes).
    """
    code = getattr(fn, "__code__", None)
    if code is None:
        return fn(args["config"], args["pkgs"], args["lib"], args["options"])
    if code.co_flags & 0x08:  # **kwargs: give everything
        return fn(**args)
    names = parameter_names(fn) or ()
    missing = [n for n in names if n not in args]
    if not missing:
        return fn(**{n: args[n] for n in names})
    extra = module_args() if module_args is not None else {}
    if all(n in extra for n in missing):
        return fn(**{n: args[n] if n in args else extra[n] for n in names})
    positional = (args["config"], args["pkgs"], args["lib"], args["options"])
    return fn(*positional[: code.co_argcount])
