"""An in-memory view of the archive's Packages indices: candidates and providers.

Several suites are merged the way apt merges them with default pins: for each name the
highest version wins, and on equal versions the suite listed first (security before
updates before the release) wins. A previous lock's versions are preferred while the
archive still has them, so re-locking does not move anything that was not asked to move.
A view with a *target suite* (`targeting`) is apt's `-t SUITE` (that suite pinned at
990): a name the target suite has takes its version from there, whatever the others have.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from declos.pkgs.debian.relations import Rel, parse_relations
from declos.pkgs.debian.version import compare, satisfies


@dataclass(frozen=True)
class Candidate:
    """One binary package version from one suite."""

    name: str
    version: str
    arch: str
    filename: str
    size: int
    sha256: str
    depends: str
    pre_depends: str
    provides: str
    recommends: str
    essential: bool
    suite: str

    def relations(self, *, recommends: bool = False) -> list[list[Rel]]:
        text = ", ".join(t for t in (self.pre_depends, self.depends) if t)
        if recommends and self.recommends:
            text = ", ".join(t for t in (text, self.recommends) if t)
        return parse_relations(text)

    def provided(self) -> list[Rel]:
        return [alts[0] for alts in parse_relations(self.provides)]


class PackageIndex:
    """Names -> candidate versions, virtual names -> providers, for one architecture."""

    def __init__(
        self,
        suites: Iterable[tuple[str, Iterable[tuple[str, ...]]]],
        arch: str = "amd64",
        prefer: Mapping[str, str] | None = None,
    ) -> None:
        self.arch = arch
        self._prefer = dict(prefer or {})
        # Raw record tuples by name; Candidates are made on demand (an index has ~64k
        # stanzas, a closure touches a few hundred).
        self._raw: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        self._virtual: dict[str, list[str]] = {}
        for suite, records in suites:
            raw = self._raw
            for r in records:
                if r[2] != arch and r[2] != "all":
                    continue
                entry = raw.get(r[0])
                if entry is None:
                    raw[r[0]] = [(r, suite)]
                else:
                    entry.append((r, suite))
                if r[8]:
                    for part in r[8].split(","):
                        v = part.split("(", 1)[0].strip()
                        self._virtual.setdefault(v, []).append(r[0])
        self._best: dict[str, Candidate | None] = {}
        self._providers: dict[str, list[tuple[Candidate, str]]] = {}
        self.target = ""

    def targeting(self, suite: str, prefer: Mapping[str, str] | None = None) -> PackageIndex:
        """A view of the same records with `suite` as apt's target release (`-t suite`):
        candidates come from it when it has the name; `prefer` pins as `prefer()` does."""
        view = copy.copy(self)
        view.target = suite
        view._prefer = dict(prefer or {})
        view._best = {}
        view._providers = {}
        return view

    @property
    def versions(self) -> dict[str, list[tuple[tuple[str, ...], str]]]:
        return self._raw

    def _make(self, r: tuple[str, ...], suite: str) -> Candidate:
        return Candidate(
            r[0], r[1], r[2], r[3], int(r[4] or 0), r[5], r[6], r[7], r[8], r[9],
            r[10] == "yes", suite,
        )  # fmt: skip

    def prefer(self, versions: Mapping[str, str]) -> None:
        """Prefer these versions (a previous lock's) while the archive still has them."""
        self._prefer = dict(versions)
        self._best.clear()
        self._providers.clear()

    def candidate(self, name: str) -> Candidate | None:
        """The version apt would pick: highest, first-listed suite on ties, pin if present."""
        if name in self._best:
            return self._best[name]
        entries = self._raw.get(name)
        best: tuple[tuple[str, ...], str] | None = None
        if entries and self.target:
            entries = [e for e in entries if e[1] == self.target] or entries
        if entries:
            best = entries[0]
            for e in entries[1:]:
                if compare(e[0][1], best[0][1]) > 0:
                    best = e
            pinned = self._prefer.get(name)
            if pinned:
                best = next((e for e in entries if e[0][1] == pinned), best)
        cand = self._make(*best) if best is not None else None
        self._best[name] = cand
        return cand

    def providers(self, virtual: str) -> list[tuple[Candidate, str]]:
        """(candidate, provided version) for every package whose candidate Provides `virtual`."""
        if virtual in self._providers:
            return self._providers[virtual]
        found = []
        for name in dict.fromkeys(self._virtual.get(virtual, ())):
            cand = self.candidate(name)
            if cand is None:
                continue
            for rel in cand.provided():
                if rel.name == virtual:
                    found.append((cand, rel.version))
        self._providers[virtual] = found
        return found

    def essential(self) -> list[str]:
        """Names whose candidate is `Essential: yes`."""
        names = {r[0] for entries in self._raw.values() for r, _ in entries if r[10] == "yes"}
        return sorted(n for n in names if (c := self.candidate(n)) is not None and c.essential)

    def satisfiers(self, rel: Rel) -> list[Candidate]:
        """Candidates satisfying `rel`: the real package first, then providers (versioned Provides)."""
        found = []
        real = self.candidate(rel.name)
        if real is not None and (not rel.op or satisfies(real.version, rel.op, rel.version)):
            found.append(real)
        for prov, pver in self.providers(rel.name):
            if not rel.op or (pver and satisfies(pver, rel.op, rel.version)):
                found.append(prov)
        return found
