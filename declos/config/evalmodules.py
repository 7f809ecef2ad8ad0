"""NixOS `lib.evalModules` called from a module: a separate evaluation as a value.

The result is an attribute set (`config`, `options`, `class`, `_type`) like NixOS's; the
evaluation runs when `config` or `options` is first read, so an error in it (a module
of another class, say) is reported where it is read, as in Nix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from declos.config.errors import MissingAttributeError

_KEYS = ("_type", "class", "config", "options")


class EvalResult(Mapping):
    """The value of `lib.eval_modules(...)`: evaluated on first read of `config`/`options`."""

    __slots__ = ("_run", "_class", "_ev")

    def __init__(self, run: Callable[[], Any], module_class: str | None) -> None:
        self._run = run
        self._class = module_class
        self._ev: Any = None

    def __getitem__(self, key: str) -> Any:
        if key == "_type":
            return "configuration"
        if key == "class":
            return self._class
        if key in ("config", "options"):
            if self._ev is None:
                self._ev = self._run()
            return self._ev.config if key == "config" else self._ev.options
        raise MissingAttributeError(
            f"attribute `{key}' missing in the result of eval_modules (have: {', '.join(_KEYS)})"
        )

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self[name]

    def __iter__(self) -> Iterator[str]:
        return iter(_KEYS)

    def __len__(self) -> int:
        return len(_KEYS)

    def __repr__(self) -> str:
        return f"<eval_modules result, class {self._class!r}>"
