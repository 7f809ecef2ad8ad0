"""Option declarations (NixOS `mkOption`)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from declos.config.locations import display_path
from declos.config.properties import Lazy
from declos.config.render import LiteralExpression
from declos.config.typesys import FromConfig, OptionType, Unspecified


class _NoValue:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NO_VALUE"

    def __bool__(self) -> bool:
        return False


NO_VALUE: Any = _NoValue()
"""Marks `default`/`example` as absent (None is a legitimate default)."""


class Option:
    """One option declaration; the module that holds it is its declaration site.

    The creating source line is captured here because it is exact and cheap, whereas
    finding it again in the source later would need a parse.
    """

    __slots__ = (
        "type",
        "default",
        "description",
        "example",
        "default_text",
        "apply",
        "read_only",
        "internal",
        "visible",
        "related_packages",
        "file",
        "line",
    )

    def __init__(
        self,
        type: Any = None,  # noqa: A002 - the NixOS name
        default: Any = NO_VALUE,
        description: str | None = None,
        *,
        example: Any = NO_VALUE,
        default_text: str | None = None,
        apply: Callable[[Any], Any] | None = None,
        read_only: bool = False,
        internal: bool = False,
        visible: bool | str = True,
        related_packages: Any = None,
        _depth: int = 1,
        _where: tuple[str, int] | None = None,
    ) -> None:
        if type is None:
            type = Unspecified()
        elif isinstance(type, Lazy):  # the type is a configuration value (NixOS: config.x)
            type = FromConfig(type, whole=False)
        elif not isinstance(type, OptionType):
            raise TypeError(f"Option type must be a declos.config.types type, not {type!r}")
        self.type = type
        self.default = default
        self.description = description
        self.example = example
        self.default_text = default_text
        self.apply = apply
        self.read_only = read_only
        self.internal = internal
        self.visible = visible
        self.related_packages = related_packages
        if _where is None:
            frame = sys._getframe(_depth)
            _where = (frame.f_code.co_filename, frame.f_lineno)
        self.file: str = _where[0]
        self.line: int | None = _where[1]

    @property
    def has_default(self) -> bool:
        return self.default is not NO_VALUE

    def file_shown(self) -> str:
        """The declaring file as messages show it."""
        return display_path(self.file)

    def where(self) -> str:
        return f"{display_path(self.file)}:{self.line}" if self.line else display_path(self.file)

    def __repr__(self) -> str:
        return f"Option({self.type.description!r}, at {self.where()})"


def literal_expression(text: str) -> LiteralExpression:
    return LiteralExpression(text)
