"""NixOS `lib.mkPackageOption`: an option holding a package, its default looked up in
a package set by attribute path, documented as `pkgs.NAME`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from declos.config import types
from declos.config.errors import EvaluationError
from declos.config.locations import display_path
from declos.config.option import NO_VALUE, Option, literal_expression
from declos.config.render import show_attr_path
from declos.config.templates import Template
from declos.config.usercode import USER_FAILURES

SAME_AS_NAME: Any = object()
"""`default` not given: the package named `name`."""


def mk_package_option(
    pkgs: Any,
    name: str | Sequence[str],
    *,
    nullable: bool = False,
    default: Any = SAME_AS_NAME,
    example: Any = None,
    extra_description: str = "",
    pkgs_text: str = "pkgs",
    _depth: int = 2,
    _where: tuple[str, int] | None = None,
) -> Option:
    """The option NixOS's `mkPackageOption pkgs name { ... }` declares.

    `name` (or its last element, for an attribute path) names the package in the
    description "The NAME package to use."; `default` (a name or an attribute path,
    `name` when not given, None for no default) is looked up in `pkgs` when the option
    is first read (a package set is loaded only when used), and shown as
    `literal_expression("PKGS_TEXT.PATH")`. With `nullable` the type is `null_or(package)`
    and, without a default, the default is None. A list `example` is an attribute path
    in `pkgs`, other examples are literal expressions.

    `pkgs=None` stands for the evaluation's own package set: a module's options are
    declared before that exists (YAML's `package: NAME` declarations use it too).
    """
    path = _as_path(name)
    if default is SAME_AS_NAME:
        default = name
    value: Any = NO_VALUE
    lookup: list[str] | None = None
    default_text = None
    if default is not None:
        lookup = _as_path(default)
        default_text = f"{pkgs_text}.{show_attr_path(lookup)}"
    elif nullable:
        value = None
    shown_example: Any = NO_VALUE
    if example is not None:
        shown_example = literal_expression(
            f"{pkgs_text}.{show_attr_path(example)}"
            if isinstance(example, (list, tuple))
            else str(example)
        )
    description = f"The {path[-1]} package to use." + (
        f" {extra_description}" if extra_description else ""
    )
    option = Option(
        types.null_or(types.package) if nullable else types.package,
        value,
        description,
        example=shown_example,
        default_text=default_text,
        _depth=_depth,
        _where=_where,
    )
    if lookup is not None and default_text is not None:
        option.default = FromPkgs(pkgs, lookup, default_text, pkgs_text, option.file, option.line)
    return option


class FromPkgs(Template):
    """The default of a package option: `PKGS.PATH`, looked up when the option is read
    (in `pkgs`, or in the evaluation's own package set when that is None)."""

    __slots__ = ("pkgs", "path", "pkgs_text")

    def __init__(
        self, pkgs: Any, path: list[str], text: str, pkgs_text: str, file: str, line: int | None
    ) -> None:
        super().__init__(text, display_path(file), line or 0)
        self.pkgs, self.path, self.pkgs_text = pkgs, path, pkgs_text

    def evaluate(self, scope: Mapping[str, Any]) -> Any:
        pkgs = scope["pkgs"] if self.pkgs is None else self.pkgs
        try:
            return attr_by_path(pkgs, self.path, self.source, self.pkgs_text)
        except EvaluationError:
            raise
        except USER_FAILURES as exc:  # the package set's own errors (not locked, ...)
            raise EvaluationError(
                f"{self.where()}: the default of this package option, {self.source}: {exc}"
            ) from None


def _as_path(name: Any) -> list[str]:
    path = [str(p) for p in name] if isinstance(name, (list, tuple)) else [str(name)]
    if not path:
        raise ValueError("mk_package_option needs a package name or a non-empty attribute path")
    return path


def attr_by_path(pkgs: Any, path: Sequence[str], text: str, pkgs_text: str) -> Any:
    """`pkgs.A.B...` (mappings by key, other package sets by attribute); a missing name
    is NixOS's error "TEXT cannot be found in PKGS_TEXT"."""
    value = pkgs
    for part in path:
        try:
            value = value[part] if isinstance(value, Mapping) else getattr(value, part)
        except (KeyError, AttributeError, EvaluationError):
            raise EvaluationError(
                f"{text} cannot be found in {pkgs_text}.\n"
                f"Hint: give the option a `default' that names a package of {pkgs_text}."
            ) from None
    return value
