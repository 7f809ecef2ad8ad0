"""`declos lock` and `declos why-depends`: pin Debian packages, explain closures."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from declos.config import EvaluationError, evaluate
from declos.pkgs import Pkgs
from declos.pkgs.debian.errors import DebianError
from declos.pkgs.debian.lockfile import Lock, LockedPackage, lock_path_for, read_lock
from declos.pkgs.debian.locking import make_lock, open_archive
from declos.pkgs.debian.sources import host_sources
from declos.pkgs.python.convert import import_lock, lock_requirements_file
from declos.pkgs.python.errors import PythonError
from declos.pkgs.python.lockfile import PYLOCK_NAME, read_pylock
from declos.pkgs.python.locking import lock_changes, update_pylock
from declos.pkgs.python.recording import RecordingLock
from declos.system.build import read_values


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "lock",
        help="resolve the Debian packages the configuration uses into declos.lock",
        description="Resolve every Debian package the configuration uses (and PKG...) from the "
        "host's apt sources (verified InRelease) into declos.lock next to the first -c file. "
        "Versions already locked stay unless --update names them (or --update alone: all).",
    )
    p.add_argument("-c", "--config", action="append", metavar="FILE", help="configuration file")
    p.add_argument(
        "--lock", metavar="PATH", help="the lock file (default: beside -c, or ./declos.lock)"
    )
    p.add_argument(
        "--update",
        nargs="*",
        metavar="PKG",
        help="move PKG... (all packages when none is named) to the archive's current versions",
    )
    p.add_argument("--bare", action="store_true", help="evaluate without the standard modules")
    py = p.add_mutually_exclusive_group()
    py.add_argument(
        "--python-from",
        metavar="FILE",
        help="write pylock.toml (PEP 751) from a uv.lock, a pip report (.json) or another "
        "tool's pylock.toml, and nothing else",
    )
    py.add_argument(
        "--python-requirements",
        metavar="FILE",
        help="write pylock.toml (PEP 751) by resolving a requirements file with pip, and "
        "nothing else",
    )
    p.add_argument(
        "--pylock",
        metavar="PATH",
        help="where --python-from/--python-requirements write (default: ./pylock.toml)",
    )
    p.add_argument("packages", nargs="*", metavar="PKG", help="extra Debian packages to lock")
    p.set_defaults(func=cmd_lock)

    w = subparsers.add_parser(
        "why-depends",
        help="show the dependency chain from one locked package to another",
        description="Print the shortest chain of dependency edges in declos.lock from PKG to DEP.",
    )
    w.add_argument("--lock", metavar="PATH", default="declos.lock", help="the lock file")
    w.add_argument(
        "--suite",
        metavar="SUITE",
        help="in the selection of packages used from SUITE (override(suite=SUITE))",
    )
    w.add_argument("package", metavar="PKG")
    w.add_argument("dependency", metavar="DEP")
    w.set_defaults(func=cmd_why_depends)


def _lock_path(args: argparse.Namespace) -> str:

    if args.lock:
        return str(args.lock)
    return str(lock_path_for(args.config or []))


def cmd_lock(args: argparse.Namespace) -> int:

    if args.python_from or args.python_requirements:
        return _python_only(args)
    path = _lock_path(args)
    try:
        old = read_lock(path) if os.path.exists(path) else None
        roots = set(args.packages)
        used = UsedPackages()
        if args.config:
            used = _packages_used(args.config, bare=args.bare)
            roots |= used.names
        if old is not None:
            roots |= set(old.roots)
        update: bool | list[str] = False
        if args.update is not None:
            update = list(args.update) if args.update else True
        lock = None
        python = used.python
        if roots or used.targets or python is None:  # a configuration may use Python only
            archive = open_archive()
            lock = make_lock(
                archive,
                roots,
                old=old,
                update=update,
                path=path,
                recommends=used.recommends,
                targets=used.targets,
                target_recommends=used.target_recommends,
            )
        pylock = os.path.join(os.path.dirname(path), PYLOCK_NAME)
        py = update_pylock(pylock, python, update)  # pkgs/python/locking.py (build engineer)
    except (DebianError, PythonError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if lock is not None:
        lock.write(path)
    if py is not None and py[1] is not py[0]:
        py[1].write(pylock)
    changed = (_changes(old, lock) if lock else []) + (lock_changes(*py) if py else [])
    for line in changed:
        print(line)
    if lock is not None:
        print(
            f"{path}: {len(lock.packages)} packages for {len(lock.roots)} roots"
            + "".join(
                f", {len(t.packages)} for {len(t.roots)} from {s}"
                for s, t in sorted(lock.targets.items())
            )
            + f" ({len(changed)} changed) from {', '.join(s.suite for s in lock.suites)}",
            file=sys.stderr,
        )
    if py is not None:
        print(f"{pylock}: {len(py[1].dists)} Python distributions", file=sys.stderr)
    return 0


def _python_only(args: argparse.Namespace) -> int:
    """`--python-from` / `--python-requirements`: pylock.toml alone, from another tool's
    lock or from a requirements file (docs/python.md §Importing locks)."""
    if args.config or args.packages or args.update is not None or args.lock:
        print(
            "error: --python-from and --python-requirements write pylock.toml alone; "
            "drop -c, --lock, --update and PKG (or lock them in a separate run)",
            file=sys.stderr,
        )
        return 1
    target = str(args.pylock or PYLOCK_NAME)
    try:
        old = read_pylock(target) if os.path.exists(target) else None
        if args.python_from:
            new = import_lock(args.python_from, path=target)
        else:
            new = lock_requirements_file(args.python_requirements, path=target)
        new.write(target)
    except PythonError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for line in lock_changes(old, new):
        print(line)
    print(f"{target}: {len(new.dists)} Python distributions", file=sys.stderr)
    return 0


@dataclass
class UsedPackages:
    """What evaluating the configuration with a recording package set found."""

    names: set[str] = field(default_factory=set)
    recommends: set[str] = field(default_factory=set)  # override(recommends=True)
    targets: dict[str, set[str]] = field(default_factory=dict)  # override(suite=S)
    target_recommends: dict[str, set[str]] = field(default_factory=dict)
    python: RecordingLock | None = None  # the Python distributions asked for


def _packages_used(config_files: list[str], *, bare: bool) -> UsedPackages:
    """Evaluate with a recording package set: every `pkgs.NAME` the build would read,
    those used with their Recommends, those used from another suite (checked against
    the host's apt sources while evaluating, so an error names the line), and the
    Python distributions asked for."""

    pkgs = Pkgs(recording=True)
    try:
        pkgs.debian.available_suites = [s.suite for s in host_sources()]
    except DebianError:
        pass  # no apt sources: a Python-only configuration needs none (open_archive says so)
    try:
        ev = evaluate(list(config_files), special_args={"pkgs": pkgs}, bare=bare)
        read_values(ev)
    except EvaluationError as exc:
        raise DebianError(str(exc)) from None
    recorded = pkgs.python3.lock
    python = recorded if isinstance(recorded, RecordingLock) and recorded.requirements else None
    deb = pkgs.debian
    return UsedPackages(
        set(deb.recorded),
        set(deb.recorded_recommends),
        dict(deb.recorded_targets),
        dict(deb.recorded_target_recommends),
        python,
    )


def _changes(old: Lock | None, new: Lock) -> list[str]:
    lines = _changed(old.packages if old else {}, new.packages, "")
    suites = sorted(set(new.targets) | set(old.targets if old else {}))
    for suite in suites:
        before = old.targets[suite].packages if old and suite in old.targets else {}
        after = new.targets[suite].packages if suite in new.targets else {}
        lines += _changed(before, after, f" ({suite})")
    return lines


def _changed(
    old: Mapping[str, LockedPackage], new: Mapping[str, LockedPackage], tag: str
) -> list[str]:
    before = {n: p.version for n, p in old.items()}
    lines = []
    for name, pkg in sorted(new.items()):
        if name not in before:
            lines.append(f"+ {name} {pkg.version}{tag}")
        elif before[name] != pkg.version:
            lines.append(f"~ {name} {before[name]} -> {pkg.version}{tag}")
    for name in sorted(set(before) - set(new)):
        lines.append(f"- {name} {before[name]}{tag}")
    return lines


def cmd_why_depends(args: argparse.Namespace) -> int:

    try:
        lock = read_lock(args.lock).for_suite(args.suite)
        chain = lock.why_depends(args.package, args.dependency)
    except DebianError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if chain is None:
        print(f"{args.package} does not depend on {args.dependency}", file=sys.stderr)
        return 1
    for depth, name in enumerate(chain):
        pkg = lock.packages.get(name)
        version = pkg.version if pkg else "(essential, from the host)"
        print(f"{'  ' * depth}{'└── ' if depth else ''}{name} {version}")
    return 0
