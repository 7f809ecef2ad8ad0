"""Verifying a store: the database and the files must agree (nix-store --verify)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from declos.store.nar import dump, nar_hash, remove_tree

if TYPE_CHECKING:
    from declos.store.store import Store


@dataclass
class VerifyResult:
    checked: int = 0
    missing: list[str] = field(default_factory=list)
    corrupt: list[tuple[str, str, str]] = field(default_factory=list)  # path, expected, got
    repaired: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (set(self.missing) | {c[0] for c in self.corrupt}) - set(self.repaired)


def verify(
    store: Store,
    *,
    check_contents: bool = False,
    repair_from: Store | None = None,
    paths: list[str] | None = None,
    progress: Callable[[str], object] | None = None,
) -> VerifyResult:
    """Re-hash paths; with `repair_from`, replace tampered/missing ones from a good store."""
    result = VerifyResult()
    for p in paths or store.all_paths():
        info = store.path_info(p)
        phys = store._phys(p)
        result.checked += 1
        bad = False
        if not os.path.lexists(phys):
            result.missing.append(p)
            bad = True
        elif check_contents:
            digest, size = nar_hash(phys)
            if "sha256:" + digest != info.nar_hash or size != info.nar_size:
                result.corrupt.append((p, info.nar_hash, "sha256:" + digest))
                bad = True
        if bad and repair_from is not None and repair_from.is_valid(p):
            good = repair_from.path_info(p)
            if good.nar_hash == info.nar_hash:
                _repair(store, repair_from, p)
                result.repaired.append(p)
        if progress:
            progress(p)
    return result


def _repair(store: Store, source: Store, path: str) -> None:
    tmp = store.temp_dir()
    try:
        item = os.path.join(tmp, "item")
        dump(source._phys(path), lambda _b: None, copy_to=item)
        with store.path_lock(path):
            store._install(item, path)
    finally:
        remove_tree(tmp)
