"""`pkgs` as seen by modules: the package set is loaded only when a module touches it.

Most evaluations (`declos eval machines/webserver.yaml`) never read `pkgs`; importing the
package set (and through it the store) would cost them startup time for nothing, so it
is imported by name on first use (about 60 ms saved; `declos.pkgs` does not import
`declos.config`, so this is laziness, not a way around an import cycle).
"""

from __future__ import annotations

import importlib
from typing import Any

from declos.config.errors import EvaluationError


class LazyPkgs:
    """Forwards attribute and item access to `declos.pkgs.default_pkgs()`, called once."""

    __slots__ = ("_config", "_pkgs")

    def __init__(self) -> None:
        self._pkgs: Any = None
        self._config: Any = None

    def bind_config(self, config: Any) -> None:
        """Kept for the package set (its `pkgs.overlays`), handed over when it loads."""
        self._config = config

    def _load(self) -> Any:
        if self._pkgs is None:
            try:
                package_set = importlib.import_module("declos.pkgs")
            except ImportError as exc:
                raise EvaluationError(
                    f"`pkgs' was used, but the package set is not available ({exc}).\n"
                    "Hint: declos.pkgs.default_pkgs() provides it; without it, modules cannot refer to packages."
                ) from None
            self._pkgs = package_set.default_pkgs()
            if self._config is not None:
                self._pkgs.bind_config(self._config)
        return self._pkgs

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._load(), name)

    def __getitem__(self, name: str) -> Any:
        pkgs = self._load()
        try:
            return pkgs[name]
        except TypeError:
            return getattr(pkgs, name)

    def __repr__(self) -> str:
        return "<pkgs (loaded on first use)>" if self._pkgs is None else repr(self._pkgs)
