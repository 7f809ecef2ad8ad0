"""declos.store: a Nix-format content-addressed store (see docs/store-paths.md and friends).

The public API other parts of declos code against: Store, Derivation, Source, StoreError,
PathInfo, CopyResult.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from declos.store.db import PathInfo
from declos.store.derivation import Derivation, Source
from declos.store.errors import BuildError, StoreError
from declos.store.store import Store

if TYPE_CHECKING:
    from declos.store.copy import CopyResult
    from declos.store.profiles import Generation, Profiles

__all__ = ["BuildError", "CopyResult", "Derivation", "Generation", "PathInfo", "Profiles", "Source", "Store", "StoreError"]


def __getattr__(name: str) -> Any:
    if name == "CopyResult":
        from declos.store.copy import CopyResult

        return CopyResult
    if name in ("Profiles", "Generation"):
        from declos.store import profiles

        return getattr(profiles, name)
    raise AttributeError(name)
