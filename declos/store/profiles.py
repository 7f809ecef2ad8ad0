"""Profiles and generations: `profiles/NAME-N-link` symlinks and an atomically swapped
`profiles/NAME` link (src/libstore/profiles.cc). Generations are GC roots because
everything under `profiles/` is scanned for roots.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from declos.store.errors import StoreError
from declos.store.locks import file_lock
from declos.store.paths import check_name

if TYPE_CHECKING:
    from declos.store.store import Store


@dataclass(frozen=True)
class Generation:
    number: int
    path: str  # store path it points to
    created: float  # mtime of the generation link
    current: bool

    def to_json(self) -> dict[str, object]:
        return {
            "generation": self.number,
            "path": self.path,
            "created": int(self.created),
            "current": self.current,
        }


def atomic_symlink(target: str, link: str) -> None:
    """Replace `link` by a symlink to `target` with rename(), never leaving it missing."""
    tmp = os.path.join(os.path.dirname(link), f".{secrets.token_hex(4)}_{os.path.basename(link)}")
    os.symlink(target, tmp)
    os.rename(tmp, link)


class Profiles:
    """Operations on the profiles of one store, e.g. `system`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.dir = store.physical_state + "/profiles"

    def _lock(self, name: str):  # type: ignore[no-untyped-def]
        return file_lock(self.store.lock_path("profile-" + name))

    def names(self) -> list[str]:
        return sorted(
            n
            for n in os.listdir(self.dir)
            if os.path.islink(os.path.join(self.dir, n)) and not re.search(r"-\d+-link$", n)
        )

    def generations(self, name: str) -> list[Generation]:
        check_name(name)
        pat = re.compile(re.escape(name) + r"-(\d+)-link$")
        cur = self.current_number(name)
        gens = []
        for entry in os.listdir(self.dir):
            m = pat.match(entry)
            if m:
                link = os.path.join(self.dir, entry)
                gens.append(
                    Generation(
                        int(m.group(1)),
                        os.readlink(link),
                        os.lstat(link).st_mtime,
                        int(m.group(1)) == cur,
                    )
                )
        return sorted(gens, key=lambda g: g.number)

    list = generations

    def current_number(self, name: str) -> int | None:
        link = os.path.join(self.dir, name)
        if not os.path.islink(link):
            return None
        m = re.match(re.escape(name) + r"-(\d+)-link$", os.readlink(link))
        return int(m.group(1)) if m else None

    def current(self, name: str) -> str | None:
        """Store path of the current generation, or None when the profile does not exist."""
        n = self.current_number(name)
        if n is None:
            return None
        return os.readlink(os.path.join(self.dir, f"{name}-{n}-link"))

    def set(self, name: str, path: str) -> int:
        """Make `path` the new current generation; reuses the last one if it is the same path."""
        check_name(name)
        path = self.store.to_store_path(path)
        if not self.store.is_valid(path):
            raise StoreError(
                f"cannot set profile '{name}' to '{path}': path is not valid in the store"
            )
        with self._lock(name):
            gens = self.generations(name)
            if gens and gens[-1].path == path:
                number = gens[-1].number
            else:
                number = (gens[-1].number + 1) if gens else 1
                atomic_symlink(path, os.path.join(self.dir, f"{name}-{number}-link"))
            atomic_symlink(f"{name}-{number}-link", os.path.join(self.dir, name))
            return number

    def switch_to(self, name: str, number: int) -> str:
        with self._lock(name):
            link = os.path.join(self.dir, f"{name}-{number}-link")
            if not os.path.islink(link):
                have = ", ".join(str(g.number) for g in self.generations(name)) or "none"
                raise StoreError(
                    f"profile '{name}' has no generation {number} (generations: {have})"
                )
            atomic_symlink(f"{name}-{number}-link", os.path.join(self.dir, name))
            return os.readlink(link)

    def rollback(self, name: str) -> int:
        """Switch to the newest generation older than the current one."""
        cur = self.current_number(name)
        older = [g.number for g in self.generations(name) if cur is not None and g.number < cur]
        if not older:
            raise StoreError(
                f"profile '{name}' has no generation older than {cur}; nothing to roll back to"
            )
        self.switch_to(name, older[-1])
        return older[-1]

    def delete(
        self,
        name: str,
        numbers: Iterable[int] = (),
        *,
        older_than: float | None = None,
        keep_last: int | None = None,
    ) -> list[int]:
        """Delete generations (never the current one). `older_than` is an age in seconds."""
        with self._lock(name):
            cur = self.current_number(name)
            gens = self.generations(name)
            wanted = set(numbers)
            if older_than is not None:
                limit = time.time() - older_than
                wanted |= {g.number for g in gens if g.created < limit}
            if keep_last is not None:
                wanted |= {g.number for g in gens[: max(0, len(gens) - keep_last)]}
            if cur in set(numbers):
                raise StoreError(
                    f"cannot delete generation {cur} of profile '{name}': it is the current one"
                )
            wanted.discard(cur)
            deleted = []
            for g in gens:
                if g.number in wanted:
                    os.unlink(os.path.join(self.dir, f"{name}-{g.number}-link"))
                    deleted.append(g.number)
            missing = set(numbers) - {g.number for g in gens}
            if missing:
                raise StoreError(
                    f"profile '{name}' has no generation(s) {', '.join(map(str, sorted(missing)))}"
                )
            return deleted


def parse_age(text: str) -> float:
    """`30d`, `12h`, `45m`, `90s` -> seconds (as `--delete-older-than` takes)."""
    m = re.fullmatch(r"(\d+)([dhms])", text.strip())
    if not m:
        raise StoreError(f"invalid age {text!r}: use a number followed by d, h, m or s, e.g. 30d")
    return int(m.group(1)) * {"d": 86400, "h": 3600, "m": 60, "s": 1}[m.group(2)]
