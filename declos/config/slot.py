"""The evaluator's records: one `Slot` per declared option, and the frames of the
evaluation stack (a running module, an option being merged) that cycle reports walk."""

from __future__ import annotations

from typing import Any

from declos.config.messages import show_path
from declos.config.modules import Module
from declos.config.option import NO_VALUE, Option

UNFORCED, MERGING, DONE = 0, 1, 2
"""A slot's states: not read yet, being merged (reading it again is a cycle), merged."""


class Slot:
    """One declared option of one evaluation: merged declaration, definitions, value."""

    __slots__ = (
        "path",
        "decls",
        "type",
        "default_option",
        "defs",
        "state",
        "value",
        "ev",
        "extra",
        "conflict",
    )

    def __init__(self, ev: Any, path: tuple[str, ...], option: Option, module: Module) -> None:
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
        self.conflict: str | None = None
        """Why two declarations of this option do not merge: raised when the option is read
        (its value or its option attribute set), as NixOS does, not when evaluation starts."""

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
    """A function module running; `assumed` holds the options it read meanwhile (each
    assumed not to be defined by it), with the stack that led to the read."""

    __slots__ = ("module", "ev", "assumed")

    def __init__(self, module: Module, ev: Any) -> None:
        self.module = module
        self.ev = ev
        self.assumed: dict[Slot, tuple[Any, ...]] = {}


class OptionFrame:
    """An option being forced; `read_line` is the module source line that read it."""

    __slots__ = ("slot", "read_line")

    def __init__(self, slot: Slot, read_line: str | None) -> None:
        self.slot = slot
        self.read_line = read_line


class RedirectNode:
    """A `Redirect` placed in one evaluation's option tree; `uses` are the definitions
    that went through it, as (module, full source path) pairs."""

    __slots__ = ("redirect", "module", "uses")

    def __init__(self, redirect: Any, module: Module) -> None:
        self.redirect = redirect
        self.module = module
        self.uses: list[tuple[Module, tuple[str, ...]]] = []

    @property
    def is_defined(self) -> bool:
        return bool(self.uses)

    @property
    def isDefined(self) -> bool:  # noqa: N802 - NixOS's name, read as options.X.isDefined
        """Whether any module defines the old path (NixOS `options.X.isDefined`)."""
        return bool(self.uses)

    def files(self) -> str:
        """NixOS `showFiles`: "`a.yaml' and `b.py'" (each file once)."""
        files = list(dict.fromkeys(m.display() for m, _ in self.uses))
        return " and ".join(f"`{f}'" for f in files)

    def __repr__(self) -> str:
        return f"<{self.redirect.kind} {show_path(self.redirect.source)}>"


def iter_slots(node: dict[str, Any]) -> Any:
    """Every slot of an option tree, depth-first in declaration order."""
    for child in node.values():
        if isinstance(child, dict):
            yield from iter_slots(child)
        elif isinstance(child, Slot):
            yield child
