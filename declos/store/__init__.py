"""declos.store: a Nix-format content-addressed store (see docs/store-paths.md and friends).

The public API other parts of declos code against: Store, Derivation, Source, StoreError,
PathInfo, CopyStats. Exports load on first use so that `declos.store.location`, which the
module system imports to type-check `package` values, does not pull in the whole store.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from declos.store.copy import CopyStats
    from declos.store.db import PathInfo
    from declos.store.derivation import Derivation, Source
    from declos.store.errors import BuildError, StoreError
    from declos.store.profiles import Generation, Profiles
    from declos.store.store import Store

_EXPORTS = {
    "BuildError": "declos.store.errors",
    "CopyStats": "declos.store.copy",
    "Derivation": "declos.store.derivation",
    "Generation": "declos.store.profiles",
    "PathInfo": "declos.store.db",
    "Profiles": "declos.store.profiles",
    "Source": "declos.store.derivation",
    "Store": "declos.store.store",
    "StoreError": "declos.store.errors",
}

__all__ = [
    "BuildError",
    "CopyStats",
    "Derivation",
    "Generation",
    "PathInfo",
    "Profiles",
    "Source",
    "Store",
    "StoreError",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'declos.store' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
