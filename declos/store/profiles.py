"""The store's view of profiles: `declos.common.profiles` plus store validity.

The layout, the lock discipline and the generation rules are defined once in
`declos.common.profiles` (activation uses the same code on the target). The store adds
that a profile may only point at a valid store path, and reports failures as
`StoreError` like every other store operation. Generations are GC roots because
everything under STATE/profiles is scanned for roots.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

from declos.common import profiles as common
from declos.common.profiles import Generation, ProfileError
from declos.store.errors import StoreError

if TYPE_CHECKING:
    from declos.store.store import Store

__all__ = ["Generation", "Profiles", "parse_age"]


class Profiles:
    """Operations on the profiles of one store, e.g. `system`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.dir = store.physical_state + "/profiles"
        self._profiles = common.Profiles(self.dir, os.path.dirname(store.lock_path("x")))

    def names(self) -> list[str]:
        return self._profiles.names()

    def generations(self, name: str) -> list[Generation]:
        try:
            return self._profiles.generations(name)
        except ProfileError as exc:
            raise StoreError(str(exc)) from exc

    def current_number(self, name: str) -> int | None:
        return self._profiles.current_number(name)

    def current(self, name: str) -> str | None:
        """Store path of the current generation, or None when the profile does not exist."""
        return self._profiles.current(name)

    def set(self, name: str, path: str) -> int:
        """Make `path` the new current generation; reuses the last one if it is the same path."""
        path = self.store.to_store_path(path)
        if not self.store.is_valid(path):
            raise StoreError(
                f"cannot set profile '{name}' to '{path}': path is not valid in the store"
            )
        try:
            return self._profiles.set(name, path)
        except ProfileError as exc:
            raise StoreError(str(exc)) from exc

    def switch_to(self, name: str, number: int) -> str:
        try:
            return self._profiles.set_current(name, number)
        except ProfileError as exc:
            raise StoreError(str(exc)) from exc

    def rollback(self, name: str) -> int:
        """Switch to the newest generation older than the current one."""
        try:
            return self._profiles.rollback(name)
        except ProfileError as exc:
            raise StoreError(str(exc)) from exc

    def delete(
        self,
        name: str,
        numbers: Iterable[int] = (),
        *,
        older_than: float | None = None,
        keep_last: int | None = None,
    ) -> list[int]:
        """Delete generations (never the current one). `older_than` is an age in seconds."""
        try:
            return self._profiles.delete(name, numbers, older_than=older_than, keep_last=keep_last)
        except ProfileError as exc:
            raise StoreError(str(exc)) from exc


def parse_age(text: str) -> float:
    """`30d`, `12h`, `45m`, `90s` -> seconds (as `--delete-older-than` takes)."""
    try:
        return common.parse_age(text)
    except ProfileError as exc:
        raise StoreError(str(exc)) from exc
