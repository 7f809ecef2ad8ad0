"""Profiles and generations: `DIR/NAME-N-link -> STORE PATH` and `DIR/NAME -> NAME-N-link`.

The layout of Nix profiles (src/libstore/profiles.cc), used by the store (`declos store
profile`, any profile name) and by activation (the `system` profile on the target). One
lock discipline for both: every change to profile NAME happens under an exclusive
flock(2) on `LOCKS/profile-NAME.lock` (LOCKS defaults to the profiles directory's
sibling `locks/`, i.e. STATE/locks), taken *inside* any other lock the caller holds.
Every link is made with symlink + rename (`atomic_symlink`), so a crash leaves the old
or the new link, and the `NAME` link is swapped last. A new generation is made only
when the path differs from the newest one.
"""

from __future__ import annotations

import fcntl
import os
import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from declos.common.atomic import atomic_symlink

NAME_RE = re.compile(r"^[A-Za-z0-9+_?=][A-Za-z0-9+._?=-]*$")


class ProfileError(Exception):
    """A profile operation that cannot be done (missing generation, bad name, ...)."""


@dataclass(frozen=True)
class Generation:
    """One `NAME-N-link`: its number, the store path it points to, when it was made."""

    number: int
    path: str
    created: float  # mtime of the generation link
    current: bool

    def to_json(self) -> dict[str, object]:
        return {
            "generation": self.number,
            "path": self.path,
            "created": int(self.created),
            "current": self.current,
        }


def check_profile_name(name: str) -> str:
    """Profile names become file names: no `/`, no leading `.`, nothing odd."""
    if not NAME_RE.match(name) or name.endswith("-link"):
        raise ProfileError(
            f"invalid profile name {name!r}: use letters, digits and + . _ ? = -"
            " (not starting with . or -)"
        )
    return name


class Profiles:
    """The profiles in one directory (STATE/profiles)."""

    def __init__(
        self, directory: str | os.PathLike[str], lock_dir: str | os.PathLike[str] | None = None
    ) -> None:
        self.dir = Path(directory)
        self.lock_dir = Path(lock_dir) if lock_dir is not None else self.dir.parent / "locks"

    @contextmanager
    def lock(self, name: str) -> Iterator[None]:
        """Exclusive lock on profile `name` (blocking: profile changes are short)."""
        check_profile_name(name)
        self.lock_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_dir / f"profile-{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def link(self, name: str, number: int) -> Path:
        """The path of generation `number`'s link."""
        return self.dir / f"{name}-{number}-link"

    def names(self) -> list[str]:
        """Profiles that exist (a `NAME` link beside its generations)."""
        if not self.dir.is_dir():
            return []
        return sorted(
            n
            for n in os.listdir(self.dir)
            if (self.dir / n).is_symlink() and not re.search(r"-\d+-link$", n)
        )

    def numbers(self, name: str) -> list[int]:
        """Generation numbers of profile `name`, ascending."""
        check_profile_name(name)
        if not self.dir.is_dir():
            return []
        pattern = re.compile(re.escape(name) + r"-(\d+)-link$")
        return sorted(int(m.group(1)) for m in map(pattern.match, os.listdir(self.dir)) if m)

    def current_number(self, name: str) -> int | None:
        """The generation `NAME` points to, or None when the profile does not exist."""
        try:
            text = os.readlink(self.dir / check_profile_name(name))
        except (FileNotFoundError, OSError):
            return None
        m = re.fullmatch(re.escape(name) + r"-(\d+)-link", text)
        return int(m.group(1)) if m else None

    def target(self, name: str, number: int) -> str:
        """The store path generation `number` points to."""
        try:
            return os.readlink(self.link(name, number))
        except FileNotFoundError:
            raise self._missing(name, number) from None

    def current(self, name: str) -> str | None:
        """Store path of the current generation, or None when the profile does not exist."""
        n = self.current_number(name)
        return None if n is None else self.target(name, n)

    def generations(self, name: str) -> list[Generation]:
        cur = self.current_number(name)
        out = []
        for n in self.numbers(name):
            link = self.link(name, n)
            out.append(Generation(n, os.readlink(link), link.lstat().st_mtime, n == cur))
        return out

    def _missing(self, name: str, number: int) -> ProfileError:
        have = ", ".join(str(n) for n in self.numbers(name)) or "none"
        return ProfileError(f"profile '{name}' has no generation {number} (generations: {have})")

    def _add_locked(self, name: str, path: str) -> tuple[int, bool]:
        nums = self.numbers(name)
        if nums and self.target(name, nums[-1]) == path:
            return nums[-1], False
        number = nums[-1] + 1 if nums else 1
        atomic_symlink(path, self.link(name, number))
        return number, True

    def add(self, name: str, path: str) -> tuple[int, bool]:
        """The generation for `path` without making it current: the newest one if it
        already points there, else a new one. Returns (number, created)."""
        with self.lock(name):
            return self._add_locked(name, path)

    def set_current(self, name: str, number: int) -> str:
        """Make generation `number` current; returns its store path."""
        with self.lock(name):
            path = self.target(name, number)
            atomic_symlink(f"{name}-{number}-link", self.dir / name)
            return path

    def set(self, name: str, path: str) -> int:
        """Add `path` as a generation (or reuse the newest) and make it current."""
        with self.lock(name):
            number, _ = self._add_locked(name, path)
            atomic_symlink(f"{name}-{number}-link", self.dir / name)
            return number

    def previous(self, name: str) -> int:
        """The newest generation older than the current one."""
        cur = self.current_number(name)
        if cur is None:
            raise ProfileError(f"profile '{name}' has no current generation to roll back from")
        older = [n for n in self.numbers(name) if n < cur]
        if not older:
            raise ProfileError(
                f"profile '{name}': generation {cur} is the oldest; there is nothing to roll back to"
            )
        return older[-1]

    def rollback(self, name: str) -> int:
        """Switch to the newest generation older than the current one."""
        with self.lock(name):
            number = self.previous(name)
            atomic_symlink(f"{name}-{number}-link", self.dir / name)
            return number

    def older_than(self, name: str, seconds: float, now: float | None = None) -> list[int]:
        """Generations older than `seconds`, never the current one (nix-env --delete-generations)."""
        limit = (time.time() if now is None else now) - seconds
        return [g.number for g in self.generations(name) if not g.current and g.created < limit]

    def delete(
        self,
        name: str,
        numbers: Iterable[int] = (),
        *,
        older_than: float | None = None,
        keep_last: int | None = None,
    ) -> list[int]:
        """Delete generations, never the current one; all checks happen before any link
        is removed. `older_than` is an age in seconds. Returns the deleted numbers."""
        asked = set(numbers)
        with self.lock(name):
            cur = self.current_number(name)
            gens = self.generations(name)
            if cur is not None and cur in asked:
                raise ProfileError(
                    f"cannot delete generation {cur} of profile '{name}': it is the current one"
                )
            missing = asked - {g.number for g in gens}
            if missing:
                raise ProfileError(
                    f"profile '{name}' has no generation(s) {', '.join(map(str, sorted(missing)))}"
                )
            wanted = set(asked)
            if older_than is not None:
                wanted |= set(self.older_than(name, older_than))
            if keep_last is not None:
                wanted |= {g.number for g in gens[: max(0, len(gens) - keep_last)]}
            wanted.discard(cur)
            deleted = sorted(wanted)
            for n in deleted:
                os.unlink(self.link(name, n))
            return deleted


def parse_age(text: str) -> float:
    """`30d`, `12h`, `45m`, `90s` -> seconds (as `--delete-older-than` takes)."""
    m = re.fullmatch(r"(\d+)([dhms])", text.strip())
    if not m:
        raise ProfileError(f"invalid age {text!r}: use a number followed by d, h, m or s, e.g. 30d")
    return int(m.group(1)) * {"d": 86400, "h": 3600, "m": 60, "s": 1}[m.group(2)]
