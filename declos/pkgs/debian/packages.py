"""`pkgs.<debian name>`: locked Debian packages as derivations, with override semantics.

Each package is two derivations: the `.deb` as a fixed-output fetch (SHA-256 from the
lock, so its path never depends on a mirror) and the store package built from it with
its closure's packages as inputs (their libraries form its library farm). Dependency
cycles (Debian has a few) are cut inside each strongly connected component by keeping
only edges to names that sort lower, so the store graph stays acyclic and the cut is the
same whatever else the lock contains; the static check proves nothing needed was lost.

A DebianSet belongs to one evaluation (its memo is not process-wide).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from declos.pkgs.debian.errors import DebianError, NotInLock
from declos.pkgs.debian.lockfile import Lock, LockedPackage
from declos.pkgs.debian.resolver import LIBC_ROOT, closure
from declos.pkgs.debian.wrappers import (
    DEFAULT_SCRIPT_DIRS,
    DEFAULT_SUBSTITUTIONS,
    DEFAULT_WRAPPERS,
)
from declos.store.derivation import Derivation

if TYPE_CHECKING:
    from declos.pkgs.package_set import Pkgs

_BAD_NAME_CHARS = re.compile(r"[^A-Za-z0-9+\-._?=]")
# Part of every package derivation: bumped when builtin:debian-package's output changes
# for the same inputs (2: perl scripts wrapped, python scripts re-pointed), so a store
# never keeps a package built by an older builder under the same path.
BUILDER_VERSION = "2"
# Attributes override_attrs may change (the rest of the derivation is derived from the lock).
ATTRS = (
    "runtime_dependencies",
    "ignore_missing",
    "library_alternatives",
    "wrappers",
    "substitutions",
)


def store_name(text: str) -> str:
    return _BAD_NAME_CHARS.sub("_", text)


class DebPackage(Derivation):
    """A Debian package in the store; `override`/`override_attrs` give modified copies."""

    pname: str
    deb_version: str
    _set: DebianSet
    _inputs: dict[str, Any]
    _attrs: dict[str, Any]
    _deps: list[Derivation]

    def profile_packages(self) -> list[Derivation]:
        """What installing this package into a profile brings: it and its closure, as apt
        would (`gnupg` is a metapackage; `gpg` and `gpg-agent` are its dependencies)."""
        return [self, *self._deps]

    def override(self, **inputs: Any) -> DebPackage:
        """Re-call the package function with other inputs (`hermetic=True`,
        `recommends=True`, `suite="bookworm-backports"`)."""
        return self._set.package(self.pname, **{**self._inputs, **inputs}, **self._attrs)

    def override_attrs(
        self, fn: Callable[[dict[str, Any], dict[str, Any]], Mapping[str, Any]]
    ) -> DebPackage:
        """`fn(final, prev)` returns attributes to change (nixpkgs' overrideAttrs)."""
        prev = {k: self._attrs.get(k, ()) for k in ATTRS}
        changes = dict(fn(prev, prev))
        unknown = set(changes) - set(ATTRS)
        if unknown:
            raise DebianError(
                f"override_attrs on {self.pname}: unknown attribute(s) {', '.join(sorted(unknown))}; "
                f"known: {', '.join(ATTRS)}"
            )
        return self._set.package(self.pname, **self._inputs, **{**self._attrs, **changes})

    def with_packages(self, packages: Iterable[Derivation]) -> Derivation:
        """python3 with `packages` importable (nixpkgs' python3.withPackages): a tree whose
        `bin/python3` (and `python3.11`) is the closure's interpreter beside a
        `python3._pth` listing the standard library and the dist-packages of every
        package given and of their closures."""
        if self.pname != "python3":
            raise DebianError(
                f"with_packages is python3's (pkgs.deb.python3.with_packages([...])), not {self.pname}'s"
            )
        trees: dict[str, Derivation] = {}
        for p in [self, *packages]:
            for d in p.profile_packages() if isinstance(p, DebPackage) else [p]:
                trees.setdefault(d.out_path, d)
        names = {getattr(d, "pname", ""): d.out_path for d in trees.values()}
        if "python3.11-minimal" not in names:
            raise DebianError("python3's closure has no python3.11-minimal (check declos.lock)")
        stdlib = [names[n] for n in ("libpython3.11-minimal", "libpython3.11-stdlib") if n in names]
        lines = [f"{p}/usr/lib/python3.11" for p in stdlib]
        lines += [f"{p}/usr/lib/python3.11/lib-dynload" for p in stdlib]
        lines += [
            f"{d.out_path}/usr/lib/python3/dist-packages"
            for d in trees.values()
            if getattr(d, "pname", "").startswith("python3-") or not isinstance(d, DebPackage)
        ]
        pkgs = self._set.pkgs
        pth = pkgs.write_text("python3._pth", "\n".join([*lines, "import site"]) + "\n")
        python = f"{names['python3.11-minimal']}/usr/bin/python3.11"
        links = {f"bin/{n}": python for n in ("python3", "python3.11")}
        return pkgs.link_farm("python3-env", {**links, "bin/python3._pth": str(pth)})

    @property
    def locked(self) -> LockedPackage:
        return self._set.lock.for_suite(self._inputs["suite"]).get(self.pname)  # type: ignore[union-attr]


class DebianSet:
    """The Debian packages of one lock, for one evaluation (memoised per arguments)."""

    def __init__(
        self, pkgs: Pkgs, lock: Lock | None, *, recording: bool = False, hermetic: bool = False
    ) -> None:
        self.pkgs = pkgs
        self.lock = lock
        self.recording = recording
        self.hermetic = hermetic
        self.recorded: set[str] = set()
        self.recorded_recommends: set[str] = set()
        # suite -> names used with override(suite=...) (and with recommends=True too)
        self.recorded_targets: dict[str, set[str]] = {}
        self.recorded_target_recommends: dict[str, set[str]] = {}
        # While recording: the suites of the host's apt sources (None: not checked).
        self.available_suites: list[str] | None = None
        # Output paths of the host-libc-mode packages made (activation checks libc6).
        self.host_libc_paths: set[str] = set()
        # With pkgs.overlays: where dependencies come from (the final set, so an overlay
        # replacing a library is what its dependents link); None: this set itself.
        self.resolve_dep: Callable[[str], Any] | None = None
        self._memo: dict[str, Derivation] = {}
        self._dags: dict[tuple[bool, str], dict[str, list[str]]] = {}

    def __getattr__(self, attr: str) -> DebPackage:
        if attr.startswith("_"):
            raise AttributeError(attr)
        return self[attr.replace("_", "-")]

    def __getitem__(self, name: str) -> DebPackage:
        return self.package(name)

    def __contains__(self, name: str) -> bool:
        """Whether the lock pins `name` (while locking: records it and answers yes)."""
        if self.recording:
            self.recorded.add(name)
            return True
        return self.lock is not None and name in self.lock.packages

    # -- derivations ------------------------------------------------------------------------
    def package(
        self,
        name: str,
        *,
        hermetic: bool | None = None,
        recommends: bool = False,
        suite: str | None = None,
        runtime_dependencies: tuple[Any, ...] | list[Any] = (),
        ignore_missing: tuple[str, ...] | list[str] = (),
        library_alternatives: Mapping[str, str] | tuple[()] = (),
        wrappers: Mapping[str, Any] | tuple[()] = (),
        substitutions: Mapping[str, str] | tuple[()] = (),
    ) -> DebPackage:
        herm = self.hermetic if hermetic is None else bool(hermetic)
        attrs: dict[str, Any] = {
            "runtime_dependencies": tuple(runtime_dependencies),
            "ignore_missing": tuple(ignore_missing),
            "library_alternatives": dict(library_alternatives or {}),
            "wrappers": dict(wrappers or {}),
            "substitutions": dict(substitutions or {}),
        }
        suite = suite or None
        if suite is not None and not isinstance(suite, str):
            raise DebianError(
                f"{name}.override(suite=...) takes a suite name (a string such as "
                f"'bookworm-backports'), not {type(suite).__name__}"
            )
        if self.recording:
            self._record(name, recommends, suite)
            return self._placeholder(name, herm, attrs, recommends, suite)
        if self.lock is None:
            raise DebianError(
                f"Debian package {name!r} was used but there is no declos.lock next to the "
                "configuration; run `declos lock -c FILE` to create it"
            )
        lock = self.lock.for_suite(suite)
        pkg = lock.get(name)
        if recommends and name not in lock.recommends_roots:
            raise NotInLock(
                f"{name} is used with its Recommends (override(recommends=True)) but "
                f"{lock.path} has no Recommends for it; run `declos lock` to add them"
            )
        libc_base = [] if herm else self._libc_base()
        stop = set() if name in libc_base else lock.base_set(herm) - {name}
        dep_names = [
            d for d in closure(self.dag(recommends, suite), [name], stop=stop) if d != name
        ]
        deps = [self._dep(name, d, herm, suite) for d in dep_names]
        wrap = {**DEFAULT_WRAPPERS.get(name, {}), **attrs["wrappers"]}
        subst = {**DEFAULT_SUBSTITUTIONS.get(name, {}), **attrs["substitutions"]}
        extra = [str(x) for x in attrs["runtime_dependencies"]]
        base_paths = (
            [] if name in libc_base else [self._plain(b, False).out_path for b in libc_base]
        )
        env = {
            "builderVersion": BUILDER_VERSION,
            "pname": name,
            "version": pkg.version,
            "deb": self.fetch(pkg).out_path,
            "deps": " ".join([*(d.out_path for d in deps), *extra]),
            "base": " ".join(base_paths),
            "hermetic": "1" if herm else "",
            "libc": self._plain(LIBC_ROOT, True).out_path if herm and name != LIBC_ROOT else "",
            "ignoreMissing": " ".join(attrs["ignore_missing"]),
            "wrappers": json.dumps(wrap, sort_keys=True) if wrap else "",
            "depNames": json.dumps(
                {n: d.out_path for n, d in zip(dep_names, deps, strict=True)}, sort_keys=True
            )
            if wrap or subst
            else "",
            "substitutions": json.dumps(subst, sort_keys=True) if subst else "",
            "libraryAlternatives": json.dumps(attrs["library_alternatives"], sort_keys=True)
            if attrs["library_alternatives"]
            else "",
        }
        if name in DEFAULT_SCRIPT_DIRS:
            env["scriptDirs"] = " ".join(DEFAULT_SCRIPT_DIRS[name])
        key = json.dumps([env, suite], sort_keys=True)
        if key in self._memo:
            return self._memo[key]  # type: ignore[return-value]
        drv = DebPackage(
            store_name(f"{name}-{pkg.version}"),
            "builtin:debian-package",
            (),
            env,
            system=self.pkgs.system,
            store_dir=self.pkgs.store_dir,
            context=self.pkgs.context,
        )
        drv.pname, drv.deb_version, drv._set = name, pkg.version, self
        drv._inputs = {"hermetic": herm, "recommends": bool(recommends), "suite": suite}
        drv._attrs = attrs
        drv._deps = deps
        self._memo[key] = drv
        if not herm and name not in libc_base:
            self.host_libc_paths.add(drv.out_path)
        return drv

    def host_requires(self, closure: Iterable[str]) -> dict[str, str]:
        """What a system whose store closure is `closure` needs on its host: the lock's
        libc6 when one of its packages runs on the host's libc (docs/packages.md)."""
        if self.lock is None or not self.lock.libc_version:
            return {}
        if self.host_libc_paths.isdisjoint(closure):
            return {}
        return {LIBC_ROOT: self.lock.libc_version}

    def _record(self, name: str, recommends: bool, suite: str | None) -> None:
        """While locking: note what the configuration uses; a suite the host's apt
        sources do not have is an error here, so it names the configuration's line."""
        if suite is None:
            self.recorded.add(name)
            if recommends:
                self.recorded_recommends.add(name)
            return
        if self.available_suites is not None and suite not in self.available_suites:
            raise DebianError(
                f"{name}.override(suite={suite!r}): the host's apt sources have no suite "
                f"{suite!r} (they have {', '.join(self.available_suites)}); add it to "
                "/etc/apt/sources.list.d/ (and its keyring), or use one of those"
            )
        self.recorded_targets.setdefault(suite, set()).add(name)
        if recommends:
            self.recorded_target_recommends.setdefault(suite, set()).add(name)

    def _plain(self, name: str, hermetic: bool, suite: str | None = None) -> Derivation:
        return self.package(name, hermetic=hermetic, suite=suite)

    def _dep(self, user: str, name: str, hermetic: bool, suite: str | None) -> Derivation:
        """Dependency `name` of package `user`: through the overlays' final set when the
        dependency is built in this set's mode from the main selection, else the locked
        package itself (from `suite`'s selection for a package used from that suite)."""
        if self.resolve_dep is None or hermetic != self.hermetic or suite is not None:
            return self._plain(name, hermetic, suite)
        dep = self.resolve_dep(name)
        if not isinstance(dep, Derivation):
            raise DebianError(
                f"{name} is a dependency of {user} (declos.lock), but pkgs.overlays made it "
                f"a {type(dep).__name__}, not a package"
            )
        return dep

    def _libc_base(self) -> list[str]:
        assert self.lock is not None
        return self.lock.libc_base()

    def fetch(self, pkg: LockedPackage) -> Derivation:
        """The `.deb` as a fixed-output fetch (hash from the lock, mirror from the host)."""
        return self.pkgs.fixed_output(
            store_name(pkg.filename.rsplit("/", 1)[-1]),
            "builtin:debian-fetch",
            {"filename": pkg.filename, "suite": pkg.suite, "sha256": pkg.sha256},
            pkg.sha256,
        )

    def _placeholder(
        self,
        name: str,
        hermetic: bool,
        attrs: dict[str, Any],
        recommends: bool = False,
        suite: str | None = None,
    ) -> DebPackage:
        drv = DebPackage(
            store_name(f"{name}-unlocked"),
            "builtin:write-text",
            (),
            {"text": "", "placeholder": name},
            store_dir=self.pkgs.store_dir,
            context=self.pkgs.context,
        )
        drv.pname, drv.deb_version, drv._set = name, "", self
        drv._inputs = {"hermetic": hermetic, "recommends": recommends, "suite": suite}
        drv._attrs = attrs
        drv._deps = []
        return drv

    def dag(self, recommends: bool = False, suite: str | None = None) -> dict[str, list[str]]:
        """The lock's edges (with Recommends edges: for closures of packages used with
        their Recommends; of `suite`'s selection for packages used from it) with cycles
        cut inside each strongly connected component."""
        key = (recommends, suite or "")
        if key not in self._dags:
            assert self.lock is not None
            edges = self.lock.for_suite(suite).edges(recommends=recommends)
            self._dags[key] = acyclic(edges)
        return self._dags[key]


def acyclic(edges: dict[str, list[str]]) -> dict[str, list[str]]:
    """Drop, within each SCC, every edge to a name that does not sort lower."""
    comp = scc_ids(edges)
    return {n: [d for d in ds if comp.get(d) != comp[n] or d < n] for n, ds in edges.items()}


def scc_ids(edges: dict[str, list[str]]) -> dict[str, int]:
    """Tarjan's algorithm, iterative: node -> component number."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    comp: dict[str, int] = {}
    counter = 0
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(edges.get(start, ())))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, it = work[-1]
            advanced = False
            for nxt in it:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(edges.get(nxt, ()))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp[w] = index[node]
                    if w == node:
                        break
    return comp
