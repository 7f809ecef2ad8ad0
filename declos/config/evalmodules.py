"""NixOS `lib.evalModules` called from a module: a separate evaluation as a value.

The result is an attribute set (`config`, `options`, `class`, `type`, `_type`) like
NixOS's; the evaluation runs when `config` or `options` is first read, so an error in it
(a module of another class, say) is reported where it is read, as in Nix. `type` is the
submodule type of the same modules (NixOS: `submoduleWith` of them), usable as an
option's type.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from declos.config.errors import MissingAttributeError

_KEYS = ("_type", "class", "config", "options", "type")


class EvalResult(Mapping):
    """The value of `lib.eval_modules(...)`: evaluated on first read of `config`/`options`."""

    __slots__ = ("_run", "_class", "_ev", "_type")

    def __init__(self, run: Callable[[], Any], module_class: str | None, typ: Any = None) -> None:
        self._run = run
        self._class = module_class
        self._type = typ
        self._ev: Any = None

    def __getitem__(self, key: str) -> Any:
        if key == "_type":
            return "configuration"
        if key == "class":
            return self._class
        if key == "type" and self._type is not None:
            return self._type
        if key in ("config", "options"):
            if self._ev is None:
                self._ev = self._run()
            if key == "options":
                return self._ev.options
            return self._ev.config_value()  # NixOS: the config without `_module`
        raise MissingAttributeError(
            f"attribute `{key}' missing in the result of eval_modules (have: {', '.join(self._keys())})"
        )

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self[name]

    def _keys(self) -> tuple[str, ...]:
        return _KEYS if self._type is not None else _KEYS[:-1]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())

    def __repr__(self) -> str:
        return f"<eval_modules result, class {self._class!r}>"
