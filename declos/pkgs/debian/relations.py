"""Parsing relationship fields (Depends, Pre-Depends, Provides) into data.

`a (>= 1) | b:any [amd64], c` -> [[Rel(a, >=, 1), Rel(b)], [Rel(c)]]. Architecture
restrictions that exclude the target architecture drop the alternative, as dpkg does;
build profiles (`<!nocheck>`) only occur in build dependencies and are ignored.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from declos.pkgs.debian.errors import DebianError

_REL = re.compile(
    r"^\s*(?P<name>[a-z0-9][a-z0-9+.\-]*)(?::(?P<qual>[a-z0-9\-]+))?\s*"
    r"(?:\(\s*(?P<op><<|<=|>=|>>|=|<|>)\s*(?P<ver>[A-Za-z0-9.+~:\-]+)\s*\))?\s*"
    r"(?:\[(?P<archs>[^\]]*)\])?\s*(?:<[^>]*>\s*)*$"
)


class Rel(NamedTuple):
    """One package relation: name, optional (op, version)."""

    name: str
    op: str = ""
    version: str = ""

    def __str__(self) -> str:
        return f"{self.name} ({self.op} {self.version})" if self.op else self.name


def parse_relations(text: str, arch: str = "amd64") -> list[list[Rel]]:
    """A comma-separated list of `|`-alternatives; raises DebianError on malformed text."""
    result: list[list[Rel]] = []
    if not text.strip():
        return result
    for group in text.split(","):
        alts: list[Rel] = []
        for alt in group.split("|"):
            m = _REL.match(alt)
            if m is None:
                raise DebianError(f"cannot parse the package relation {alt.strip()!r} in {text!r}")
            archs = m.group("archs")
            if archs and not _arch_ok(archs.split(), arch):
                continue
            alts.append(Rel(m.group("name"), m.group("op") or "", m.group("ver") or ""))
        if alts:
            result.append(alts)
    return result


def _arch_ok(archs: list[str], arch: str) -> bool:
    negated = [a[1:] for a in archs if a.startswith("!")]
    if negated:
        return arch not in negated
    return arch in archs or "any" in archs
