"""System generations: STATE/profiles/system-N-link -> closure, `system` -> the current one.

Same layout and rules as Nix profiles: a new generation only when the closure differs
from the newest one; every link is made with symlink + rename so a crash leaves the old
or the new link; `system` is relative (system -> system-N-link) and is swapped last.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from declos.activation.fsutil import atomic_symlink

LINK_RE = re.compile(r"^system-(\d+)-link$")


class GenerationError(Exception):
    pass


@dataclass(frozen=True)
class Generation:
    number: int
    target: str
    mtime: float
    current: bool


class Profiles:
    def __init__(self, directory: Path) -> None:
        self.dir = directory

    def _link(self, n: int) -> Path:
        return self.dir / f"system-{n}-link"

    def numbers(self) -> list[int]:
        if not self.dir.is_dir():
            return []
        return sorted(int(m.group(1)) for m in map(LINK_RE.match, os.listdir(self.dir)) if m)

    def current(self) -> int | None:
        try:
            m = LINK_RE.match(os.readlink(self.dir / "system"))
        except FileNotFoundError:
            return None
        return int(m.group(1)) if m else None

    def target(self, n: int) -> str:
        return os.readlink(self._link(n))

    def list(self) -> list[Generation]:
        cur = self.current()
        return [
            Generation(n, self.target(n), self._link(n).lstat().st_mtime, n == cur)
            for n in self.numbers()
        ]

    def add(self, top: str) -> tuple[int, bool]:
        """The generation for `top`: the newest if it already points there, else a new one."""
        nums = self.numbers()
        if nums and self.target(nums[-1]) == top:
            return nums[-1], False
        n = (nums[-1] + 1) if nums else 1
        atomic_symlink(self._link(n), top)
        return n, True

    def set_current(self, n: int) -> None:
        if n not in self.numbers():
            raise GenerationError(f"generation {n} does not exist")
        atomic_symlink(self.dir / "system", f"system-{n}-link")

    def previous(self) -> int:
        cur = self.current()
        if cur is None:
            raise GenerationError("there is no current generation to roll back from")
        older = [n for n in self.numbers() if n < cur]
        if not older:
            raise GenerationError(
                f"generation {cur} is the oldest; there is nothing to roll back to"
            )
        return older[-1]

    def delete(self, numbers: list[int]) -> list[int]:
        cur = self.current()
        for n in numbers:
            if n == cur:
                raise GenerationError(
                    f"generation {n} is the current generation and cannot be deleted"
                )
            if n not in self.numbers():
                raise GenerationError(f"generation {n} does not exist")
        for n in numbers:
            os.unlink(self._link(n))
        return numbers

    def older_than(self, seconds: float, now: float | None = None) -> list[int]:
        """Generations older than `seconds`, never the current one (as nix-env --delete-generations)."""
        now = time.time() if now is None else now
        cur = self.current()
        return [
            g.number
            for g in self.list()
            if not g.current and g.number != cur and now - g.mtime > seconds
        ]


def parse_age(text: str) -> float:
    m = re.fullmatch(r"(\d+)([dhm])", text)
    if not m:
        raise GenerationError(f"bad age {text!r}: write it like 30d, 12h or 90m")
    return int(m.group(1)) * {"d": 86400, "h": 3600, "m": 60}[m.group(2)]
