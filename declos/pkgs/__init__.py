"""declos.pkgs: the package set modules receive as `pkgs` (trivial builders and fetchers).

`Pkgs` loads on first use (as declos.store's exports do), so that importing a light
submodule (the `declos shell` cache) does not pull in the whole package set and store.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from declos.pkgs.package_set import Pkgs, default_pkgs

__all__ = ["Pkgs", "default_pkgs"]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'declos.pkgs' has no attribute {name!r}")
    value = getattr(importlib.import_module("declos.pkgs.package_set"), name)
    globals()[name] = value
    return value
