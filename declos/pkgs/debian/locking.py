"""`declos lock`: resolve the packages a configuration uses into a Lock.

Reads the host's apt sources, verifies each suite's InRelease, loads the indices (cached
by hash), resolves all roots together (one consistent selection, Essential packages as
installed, libc6's closure always included so hermetic mode can use it) and keeps the
previous lock's versions unless asked to update them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from declos.pkgs.debian.archive import Release, fetch_release, load_packages
from declos.pkgs.debian.errors import DebianError
from declos.pkgs.debian.index import PackageIndex
from declos.pkgs.debian.lockfile import Lock, LockedPackage, LockedSuite
from declos.pkgs.debian.resolver import LIBC_ROOT, resolve
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
) -> Lock:
    """Resolve `roots` (plus libc6) into a Lock; old versions stay unless updated.
    `recommends` names roots locked with their Recommends (`override(recommends=True)`)."""
    rec_roots = sorted(set(recommends) | set(old.recommends_roots if old else ()))
    roots = sorted(set(roots) | set(rec_roots))
    if not roots:
        raise DebianError(
            "no Debian package to lock: the configuration uses none and none was named "
            "(give names: `declos lock PKG...`)"
        )
    index = archive.index
    if old is not None and update is not True:
        moving = set(update) if update else set()
        index.prefer({n: p.version for n, p in old.packages.items() if n not in moving})
    essential = index.essential()
    res = resolve(index, [*roots, LIBC_ROOT], base=essential, recommends=rec_roots)
    packages = {
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
        if n not in essential
    }
    suites = [
        LockedSuite(
            s.suite,
            r.codename,
            r.date,
            r.sha256,
            {c: r.index_hash(c, archive.arch)[0] for c in s.components},
        )
        for s, r in archive.suites
    ]
    return Lock(
        archive.arch, suites, tuple(essential), tuple(roots), packages, path, tuple(rec_roots)
    )
