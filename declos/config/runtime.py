"""What all evaluations of one `evaluate()` share, and the GC pause around building."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from declos.config.lib import LIB
from declos.config.pkgsproxy import LazyPkgs
from declos.config.slot import ModuleFrame, OptionFrame


class Runtime:
    """The evaluation stack, `pkgs`, `lib` and the special args of one `evaluate()` call."""

    def __init__(self, special_args: Mapping[str, Any] | None, lib: Any = None) -> None:
        self.special = dict(special_args or {})
        self.pkgs = self.special.pop("pkgs", None) or LazyPkgs()
        given = self.special.pop("lib", None) if "lib" in self.special else None
        self.lib = given if given is not None else lib or LIB
        """`lib` as module functions receive it: a `lib` special arg replaces declos's own
        (NixOS allows it, to evaluate modules with a custom lib); `{}` too."""
        self.stack: list[ModuleFrame | OptionFrame] = []
        self.module_depth = 0


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
