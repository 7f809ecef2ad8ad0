"""`declos.lock`: the pinned Debian packages a configuration uses (format in docs/lock.md).

Evaluation and builds read only this file: which suites were used (with the hash of
their verified InRelease), the base the closures assume (Essential set + libc6 version),
and for every package of every closure its version, architecture, pool file name,
size, SHA-256 and the packages chosen for its dependencies (edges). No host names: the
fetcher joins a file name with a mirror from the host's apt sources. Packages used from
another suite (`pkg.override(suite=S)`) are a separate selection per suite (`targets`),
resolved on top of the same base, so both versions live side by side.
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from declos.common.atomic import atomic_write
from declos.pkgs.debian.errors import DebianError, NotInLock
from declos.pkgs.debian.resolver import LIBC_ROOT, closure

LOCK_NAME = "declos.lock"
FORMAT_VERSION = 1
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9+.\-]*$")
_FILENAME = re.compile(r"^pool/[A-Za-z0-9+.\-_/~%]+\.deb$")


@dataclass(frozen=True)
class LockedPackage:
    """One pinned binary package."""

    name: str
    version: str
    arch: str
    suite: str
    filename: str
    size: int
    sha256: str
    depends: tuple[str, ...] = ()
    essential: bool = False
    recommends: tuple[str, ...] = ()  # chosen for Recommends (recommends roots' closures)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "arch": self.arch,
            "suite": self.suite,
            "filename": self.filename,
            "size": self.size,
            "sha256": self.sha256,
            "depends": list(self.depends),
            **({"essential": True} if self.essential else {}),
            **({"recommends": list(self.recommends)} if self.recommends else {}),
        }


@dataclass(frozen=True)
class LockedSuite:
    """A suite the lock was resolved from, identified by its verified InRelease."""

    suite: str
    codename: str
    date: str
    inrelease_sha256: str
    components: dict[str, str] = field(default_factory=dict)  # component -> Packages.xz sha256


@dataclass
class TargetSelection:
    """Packages resolved with one suite as apt's target release (`apt-get -t SUITE`):
    the roots used with `override(suite=SUITE)` and their closures. The base (Essential
    set and libc6's closure) is the main selection's, so it is not repeated here."""

    roots: tuple[str, ...] = ()
    packages: dict[str, LockedPackage] = field(default_factory=dict)
    recommends_roots: tuple[str, ...] = ()


@dataclass
class Lock:
    """The whole lock file, as data."""

    architecture: str = "amd64"
    suites: list[LockedSuite] = field(default_factory=list)
    essential: tuple[str, ...] = ()
    roots: tuple[str, ...] = ()
    packages: dict[str, LockedPackage] = field(default_factory=dict)
    path: str = LOCK_NAME
    recommends_roots: tuple[str, ...] = ()  # roots locked with their Recommends
    targets: dict[str, TargetSelection] = field(default_factory=dict)  # suite -> selection
    target_suite: str = ""  # set on the view `for_suite` returns
    _views: dict[str, Lock] = field(default_factory=dict, repr=False, compare=False)

    # -- queries ------------------------------------------------------------------------
    @property
    def libc_version(self) -> str:
        libc = self.packages.get(LIBC_ROOT)
        return libc.version if libc else ""

    def base_set(self, hermetic: bool = False) -> set[str]:
        """What closures assume installed: Essential, plus libc6's closure unless hermetic."""
        base = set(self.essential)
        if not hermetic and LIBC_ROOT in self.packages:
            base |= set(closure(self.edges(), [LIBC_ROOT], stop=self.essential))
        return base

    def edges(self, *, recommends: bool = False) -> dict[str, list[str]]:
        """Dependency edges; with `recommends`, the Recommends edges too."""
        if recommends:
            return {n: [*p.depends, *p.recommends] for n, p in self.packages.items()}
        return {n: list(p.depends) for n, p in self.packages.items()}

    def libc_base(self) -> list[str]:
        """libc6's closure minus Essential: what host-libc packages take from the host."""
        if LIBC_ROOT not in self.packages:
            return []
        return closure(self.edges(), [LIBC_ROOT], stop=set(self.essential))

    def for_suite(self, suite: str | None) -> Lock:
        """The lock as seen by packages used with `override(suite=SUITE)`: that suite's
        selection plus the main selection's libc6 closure (the shared base); the lock
        itself for None."""
        if not suite:
            return self
        if suite in self._views:
            return self._views[suite]
        target = self.targets.get(suite)
        if target is None:
            have = ", ".join(s.suite for s in self.suites) or "none"
            if suite not in {s.suite for s in self.suites}:
                raise NotInLock(
                    f"suite {suite!r} is not one of {self.path}'s suites ({have}); add it to "
                    "the host's apt sources (/etc/apt/sources.list.d/) and run `declos lock`"
                )
            raise NotInLock(
                f"{self.path} has no packages locked from suite {suite!r}; run `declos lock` "
                "to lock the packages used with override(suite=...)"
            )
        base = {n: self.packages[n] for n in self.libc_base() + [LIBC_ROOT] if n in self.packages}
        view = self._views[suite] = Lock(
            self.architecture,
            self.suites,
            self.essential,
            target.roots,
            {**base, **target.packages},
            self.path,
            target.recommends_roots,
            target_suite=suite,
        )
        return view

    def get(self, name: str) -> LockedPackage:
        pkg = self.packages.get(name)
        if pkg is None and self.target_suite:
            raise NotInLock(
                f"Debian package {name!r} is not locked from suite {self.target_suite!r} in "
                f"{self.path}; run `declos lock` (it locks every package the configuration "
                "uses with override(suite=...))"
            )
        if pkg is None:
            raise NotInLock(
                f"Debian package {name!r} is not in {self.path}; run `declos lock` to add it "
                "(it resolves the packages the configuration uses from the host's apt sources)"
            )
        return pkg

    def closure(self, name: str, *, hermetic: bool = False) -> list[str]:
        """`name` and every package it needs, minus the base (depth-first order)."""
        self.get(name)
        return closure(self.edges(), [name], stop=self.base_set(hermetic) - {name})

    def why_depends(self, start: str, target: str) -> list[str] | None:
        """The shortest chain of dependency edges from `start` to `target`, or None."""
        self.get(start)
        self.get(target)
        prev: dict[str, str | None] = {start: None}
        todo = deque([start])
        while todo:
            n = todo.popleft()
            if n == target:
                chain = [n]
                while prev[chain[-1]] is not None:
                    chain.append(prev[chain[-1]])  # type: ignore[arg-type]
                return list(reversed(chain))
            for d in self.packages[n].depends if n in self.packages else ():
                if d not in prev:
                    prev[d] = n
                    todo.append(d)
        return None

    # -- (de)serialisation ------------------------------------------------------------------
    def dumps(self) -> str:
        data = {
            "version": FORMAT_VERSION,
            "architecture": self.architecture,
            "suites": [
                {
                    "suite": s.suite,
                    "codename": s.codename,
                    "date": s.date,
                    "inrelease_sha256": s.inrelease_sha256,
                    "components": dict(sorted(s.components.items())),
                }
                for s in self.suites
            ],
            "base": {"essential": sorted(self.essential), "libc6": self.libc_version},
            "roots": sorted(self.roots),
            **(
                {"recommends_roots": sorted(self.recommends_roots)} if self.recommends_roots else {}
            ),
            "packages": {n: self.packages[n].to_json() for n in sorted(self.packages)},
            **({"targets": self._targets_json()} if self.targets else {}),
        }
        return json.dumps(data, indent=1, sort_keys=False) + "\n"

    def _targets_json(self) -> dict[str, Any]:
        return {
            suite: {
                "roots": sorted(t.roots),
                **({"recommends_roots": sorted(t.recommends_roots)} if t.recommends_roots else {}),
                "packages": {n: t.packages[n].to_json() for n in sorted(t.packages)},
            }
            for suite, t in sorted(self.targets.items())
        }

    def write(self, path: str | Path) -> None:
        atomic_write(path, self.dumps())


def read_lock(path: str | Path) -> Lock:
    """Parse and validate a lock file; errors name the file (and line for JSON errors)."""
    p = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DebianError(
            f"{p} does not exist; run `declos lock` next to the configuration to create it"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DebianError(f"{p}: cannot read the lock file: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DebianError(
            f"{p}:{exc.lineno}: not valid JSON ({exc.msg}); regenerate it with `declos lock`"
        ) from None
    return _from_json(data, p)


def _from_json(data: Any, p: str) -> Lock:
    def bad(what: str) -> DebianError:
        return DebianError(f"{p}: {what}; regenerate the file with `declos lock`")

    if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
        raise bad(f"not a declos lock of format version {FORMAT_VERSION}")
    try:
        suites = [
            LockedSuite(
                str(s["suite"]),
                str(s.get("codename", "")),
                str(s.get("date", "")),
                str(s["inrelease_sha256"]),
                {str(k): str(v) for k, v in dict(s.get("components", {})).items()},
            )
            for s in data.get("suites", [])
        ]
        packages = _packages_json(data.get("packages", {}), bad)
        targets = {
            str(suite): TargetSelection(
                tuple(str(x) for x in t.get("roots", [])),
                _packages_json(t.get("packages", {}), bad),
                tuple(str(x) for x in t.get("recommends_roots", [])),
            )
            for suite, t in dict(data.get("targets", {})).items()
        }
        base = dict(data.get("base", {}))
        lock = Lock(
            architecture=str(data.get("architecture", "amd64")),
            suites=suites,
            essential=tuple(str(x) for x in base.get("essential", [])),
            roots=tuple(str(x) for x in data.get("roots", [])),
            packages=packages,
            path=p,
            recommends_roots=tuple(str(x) for x in data.get("recommends_roots", [])),
            targets=targets,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise bad(f"malformed entry ({type(exc).__name__}: {exc})") from None
    _check_closed(lock, bad, "")
    locked_suites = {s.suite for s in lock.suites}
    for suite in targets:
        if suite not in locked_suites:
            raise bad(f"targets names suite {suite!r}, which is not one of the lock's suites")
        _check_closed(lock.for_suite(suite), bad, f"targets.{suite}: ")
    return lock


def _packages_json(entries: Any, bad: Callable[[str], DebianError]) -> dict[str, LockedPackage]:
    packages = {}
    for name, e in dict(entries).items():
        if not _NAME.match(name):
            raise bad(f"package name {name!r} is not a Debian package name")
        pkg = LockedPackage(
            name,
            str(e["version"]),
            str(e["arch"]),
            str(e["suite"]),
            str(e["filename"]),
            int(e["size"]),
            str(e["sha256"]),
            tuple(str(d) for d in e.get("depends", [])),
            bool(e.get("essential", False)),
            tuple(str(d) for d in e.get("recommends", [])),
        )
        if not _SHA256.match(pkg.sha256):
            raise bad(f"package {name}: sha256 {pkg.sha256!r} is not 64 hex digits")
        if not _FILENAME.match(pkg.filename) or ".." in pkg.filename:
            raise bad(f"package {name}: file name {pkg.filename!r} is not a pool path")
        packages[name] = pkg
    return packages


def _check_closed(lock: Lock, bad: Callable[[str], DebianError], where: str) -> None:
    """Every edge and root names a package the (view of the) lock pins."""
    for name, pkg in lock.packages.items():
        for d in (*pkg.depends, *pkg.recommends):
            if d not in lock.packages and d not in lock.essential:
                raise bad(f"{where}package {name} depends on {d}, which the lock does not contain")
    for kind, names in (
        ("roots", lock.roots if where else ()),
        ("recommends_roots", lock.recommends_roots),
    ):
        for r in names:
            if r not in lock.packages:
                raise bad(f"{where}{kind} names {r}, which the lock does not contain")


def lock_path_for(config_files: Iterable[str | Path]) -> Path:
    """`declos.lock` beside the first configuration file."""
    first = next(iter(config_files), None)
    return (Path(first).resolve().parent if first is not None else Path.cwd()) / LOCK_NAME


def roots_in(lock: Lock, names: Collection[str]) -> list[str]:
    return [n for n in names if n in lock.packages]
