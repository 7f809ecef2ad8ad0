"""Dependency closures of Debian packages, as apt computes them for an empty system.

Algorithm (reference/packages.md §7.3): breadth-first from the roots over Pre-Depends and
Depends. A relation is already satisfied when a base package or a package selected so
far is (or Provides, with a matching version) a match; otherwise the first satisfiable
alternative wins (policy §7.5), its real package before providers. Breadth-first order
is what makes a package apt installs anyway satisfy a later relation through its
Provides (perl-base providing libsocket-perl for munin-node) while a transitional real
package is still chosen when nothing selected provides it yet (lsb-base for
openssh-server). apt itself is the oracle (declos.pkgs.debian.oracle, tests/pkgs).
"""

from __future__ import annotations

import difflib
from collections import deque
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from declos.pkgs.debian.errors import DebianError
from declos.pkgs.debian.index import Candidate, PackageIndex
from declos.pkgs.debian.relations import Rel
from declos.pkgs.debian.version import satisfies

# The C library's package: its closure is part of the base in host-libc mode (§7.2).
LIBC_ROOT = "libc6"


@dataclass
class Resolution:
    """Selected packages, and for each the packages chosen for its relations (edges)."""

    packages: dict[str, Candidate] = field(default_factory=dict)
    edges: dict[str, list[str]] = field(default_factory=dict)
    base: set[str] = field(default_factory=set)
    # the packages chosen for Recommends (only of packages whose Recommends were followed)
    recommends: dict[str, list[str]] = field(default_factory=dict)


def resolve(
    index: PackageIndex,
    roots: Iterable[str],
    *,
    base: Collection[str] = (),
    recommends: Collection[str] = (),
    installed_from: PackageIndex | None = None,
) -> Resolution:
    """The closure of `roots`; `base` packages count as installed (their deps are not walked).

    The Recommends of the roots named in `recommends` are followed too, and so are those
    of every package they bring in (apt's APT::Install-Recommends=true for them); a
    Recommends nothing satisfies is skipped, as apt does. Recommends wait until every
    Depends known so far is walked, so an alternative selected for a Depends satisfies
    a Recommends group before its first alternative is pulled in (sysstat's
    `systemd | cron` in postgresql's closure, where another relation selects cron).
    Recommends picks are kept apart (`Resolution.recommends`), so a package's plain
    closure does not include them. The versions of `base` packages are
    `installed_from`'s candidates (default: `index`'s): a target-suite resolution runs
    on top of the base the default selection assumes.
    """
    roots = list(dict.fromkeys(roots))
    for r in roots:
        if index.candidate(r) is None:
            raise DebianError(
                f"package {r!r} is not in the archive's indices{_similar(index, r)}; check the "
                "name or the suites of the host's apt sources"
            )
    res = Resolution(base=set(base))
    installed = _provided_by(installed_from or index, base)
    follow: set[str] = set()
    done: set[str] = set()
    todo = deque(roots)
    later: deque[tuple[str, list[Rel]]] = deque()

    def follow_recommends(name: str) -> None:
        """From now on `name`'s Recommends count (queued behind every Depends)."""
        if name in follow or name in res.base:
            return
        follow.add(name)
        res.recommends.setdefault(name, [])
        if name in done:
            _queue_recommends(res.packages[name], later)

    for r in roots:
        res.packages[r] = index.candidate(r)  # type: ignore[assignment]
    for r in recommends:
        follow_recommends(r)
    while todo or later:
        if not todo:
            name, group = later.popleft()
            pick = _choose(index, group, res, installed)
            if pick is None:
                continue  # an unsatisfiable Recommends is skipped, as apt does
            if pick.name != name and pick.name not in res.recommends[name]:
                res.recommends[name].append(pick.name)
            _select(res, pick, todo)
            follow_recommends(pick.name)
            continue
        name = todo.popleft()
        cand = res.packages[name]
        chosen: list[str] = []
        for group in cand.relations():
            pick = _choose(index, group, res, installed)
            if pick is None:
                alts = " | ".join(str(a) for a in group)
                raise DebianError(f"{name} {cand.version}: dependency {alts} cannot be satisfied")
            if pick.name != name and pick.name not in chosen:
                chosen.append(pick.name)
            _select(res, pick, todo)
            if name in follow:
                follow_recommends(pick.name)
        res.edges[name] = chosen
        done.add(name)
        if name in follow:
            _queue_recommends(cand, later)
    return res


def _select(res: Resolution, pick: Candidate, todo: deque[str]) -> None:
    if pick.name not in res.packages:
        res.packages[pick.name] = pick
        if pick.name not in res.base:
            todo.append(pick.name)


def _queue_recommends(cand: Candidate, later: deque[tuple[str, list[Rel]]]) -> None:
    required = cand.relations()
    for group in cand.relations(recommends=True):
        if group not in required:
            later.append((cand.name, group))


def closure(
    edges: dict[str, list[str]], roots: Iterable[str], stop: Collection[str] = ()
) -> list[str]:
    """Names reachable from `roots` over `edges` (depth-first order), not entering `stop`."""
    seen: dict[str, None] = {}
    todo = list(reversed(list(roots)))
    while todo:
        n = todo.pop()
        if n in seen or n in stop:
            continue
        seen[n] = None
        todo.extend(reversed(edges.get(n, [])))
    return list(seen)


def _provided_by(
    index: PackageIndex, base: Collection[str]
) -> dict[str, list[tuple[Candidate, str]]]:
    found: dict[str, list[tuple[Candidate, str]]] = {}
    for name in base:
        c = index.candidate(name)
        if c is None:
            continue
        found.setdefault(c.name, []).append((c, c.version))
        for rel in c.provided():
            found.setdefault(rel.name, []).append((c, rel.version))
    return found


def _ok(version: str, rel: Rel) -> bool:
    return not rel.op or bool(version and satisfies(version, rel.op, rel.version))


def _choose(
    index: PackageIndex,
    group: list[Rel],
    res: Resolution,
    installed: dict[str, list[tuple[Candidate, str]]],
) -> Candidate | None:
    for rel in group:  # already installed (base)
        for c, ver in installed.get(rel.name, ()):
            if _ok(ver, rel):
                return c
    for rel in group:  # already selected, or provided by a selected package
        sel = res.packages.get(rel.name)
        if sel is not None and _ok(sel.version, rel):
            return sel
        for prov, pver in index.providers(rel.name):
            if prov.name in res.packages and _ok(pver, rel):
                return res.packages[prov.name]
    for rel in group:  # the first satisfiable alternative, real package before providers
        sats = index.satisfiers(rel)
        if sats:
            return sats[0]
    return None


def _similar(index: PackageIndex, name: str) -> str:
    close = difflib.get_close_matches(name, list(index.versions), n=3, cutoff=0.8)
    return f" (did you mean {', '.join(close)}?)" if close else ""
