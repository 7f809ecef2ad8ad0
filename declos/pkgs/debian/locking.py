"""`declos lock`: resolve the packages a configuration uses into a Lock.

Reads the host's apt sources, verifies each suite's InRelease, loads the indices (cached
by hash), resolves all roots together (one consistent selection, Essential packages as
installed, libc6's closure always included so hermetic mode can use it) and keeps the
previous lock's versions unless asked to update them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from declos.pkgs.debian.archive import Release, fetch_release, load_packages
from declos.pkgs.debian.errors import DebianError
from declos.pkgs.debian.index import PackageIndex
from declos.pkgs.debian.lockfile import Lock, LockedPackage, LockedSuite, TargetSelection
from declos.pkgs.debian.resolver import LIBC_ROOT, Resolution, resolve
from declos.pkgs.debian.sources import AptSource, host_sources


def suite_rank(suite: str) -> int:
    """apt's effective priority among a release's suites: security, updates, the release."""
    if suite.endswith("-security"):
        return 0
    if suite.endswith("-updates"):
        return 1
    if suite.endswith("-backports"):
        return 3
    return 2


@dataclass
class Archive:
    """The host's suites, verified, and the merged index of their packages."""

    suites: list[tuple[AptSource, Release]]
    index: PackageIndex
    arch: str


def open_archive(
    *, apt_root: str = "/", arch: str = "amd64", prefer: dict[str, str] | None = None
) -> Archive:
    sources = sorted(host_sources(apt_root), key=lambda s: suite_rank(s.suite))
    suites = [(s, fetch_release(s)) for s in sources]
    records = []
    for source, release in suites:
        for comp in source.components:
            records.append((source.suite, load_packages(source, release, comp, arch)))
    return Archive(suites, PackageIndex(records, arch, prefer), arch)


def make_lock(
    archive: Archive,
    roots: Iterable[str],
    *,
    old: Lock | None = None,
    update: bool | Collection[str] = False,
    path: str = "declos.lock",
    recommends: Iterable[str] = (),
    targets: Mapping[str, Iterable[str]] | None = None,
    target_recommends: Mapping[str, Iterable[str]] | None = None,
) -> Lock:
    """Resolve `roots` (plus libc6) into a Lock; old versions stay unless updated.
    `recommends` names roots locked with their Recommends (`override(recommends=True)`);
    `targets` maps a suite to the roots used from it (`override(suite=...)`), each
    resolved as `apt-get -t SUITE` would on top of the main selection's base;
    `target_recommends` the same for roots used with both."""
    rec_roots = sorted(set(recommends) | set(old.recommends_roots if old else ()))
    roots = sorted(set(roots) | set(rec_roots))
    wanted = _target_roots(old, targets, target_recommends)
    if not roots and not wanted:
        raise DebianError(
            "no Debian package to lock: the configuration uses none and none was named "
            "(give names: `declos lock PKG...`)"
        )
    index = archive.index
    moving = set(update) if update and update is not True else set()

    def keep(lock: Lock | None) -> dict[str, str]:
        if lock is None or update is True:
            return {}
        return {n: p.version for n, p in lock.packages.items() if n not in moving}

    index.prefer(keep(old))
    essential = index.essential()
    res = resolve(index, [*roots, LIBC_ROOT], base=essential, recommends=rec_roots)
    lock = Lock(
        archive.arch,
        [
            LockedSuite(
                s.suite,
                r.codename,
                r.date,
                r.sha256,
                {c: r.index_hash(c, archive.arch)[0] for c in s.components},
            )
            for s, r in archive.suites
        ],
        tuple(essential),
        tuple(roots),
        _locked(res, set(essential)),
        path,
        tuple(rec_roots),
    )
    known = [s.suite for s, _ in archive.suites]
    base = set(essential) | set(lock.libc_base()) | {LIBC_ROOT}
    for suite, (t_roots, t_rec) in sorted(wanted.items()):
        if suite not in known:
            raise DebianError(
                f"suite {suite!r} (used by {', '.join(sorted(t_roots))} with override(suite=...)) "
                f"is not in the host's apt sources ({', '.join(known)}); add it there first"
            )
        in_base = sorted(set(t_roots) & base)
        if in_base:
            raise DebianError(
                f"{', '.join(in_base)} cannot be taken from suite {suite!r}: part of the base "
                "every package assumes (Essential or libc6's closure), which is the main selection's"
            )
        previous = old.targets.get(suite) if old is not None else None
        view = index.targeting(suite, keep(Lock(packages=previous.packages) if previous else None))
        t_res = resolve(view, t_roots, base=sorted(base), recommends=t_rec, installed_from=index)
        lock.targets[suite] = TargetSelection(tuple(t_roots), _locked(t_res, base), tuple(t_rec))
    return lock


def _target_roots(
    old: Lock | None,
    targets: Mapping[str, Iterable[str]] | None,
    target_recommends: Mapping[str, Iterable[str]] | None,
) -> dict[str, tuple[list[str], list[str]]]:
    """suite -> (roots, recommends roots): the new ones plus the previous lock's."""
    found: dict[str, tuple[set[str], set[str]]] = {}
    for suite, t in (old.targets if old is not None else {}).items():
        found[suite] = (set(t.roots), set(t.recommends_roots))
    for suite, names in (targets or {}).items():
        found.setdefault(suite, (set(), set()))[0].update(names)
    for suite, names in (target_recommends or {}).items():
        entry = found.setdefault(suite, (set(), set()))
        entry[0].update(names)
        entry[1].update(names)
    return {s: (sorted(r), sorted(rec)) for s, (r, rec) in found.items() if r}


def _locked(res: Resolution, base: Collection[str]) -> dict[str, LockedPackage]:
    return {
        n: LockedPackage(
            n,
            c.version,
            c.arch,
            c.suite,
            c.filename,
            c.size,
            c.sha256,
            tuple(res.edges.get(n, [])),
            c.essential,
            tuple(res.recommends.get(n, [])),
        )
        for n, c in res.packages.items()
        if n not in base
    }
