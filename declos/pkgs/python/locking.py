"""Locking Python requirements: pip's installation report (or uv's pylock.toml) imported.

declos does not resolve Python dependencies itself: pip does, with the index the machine
is configured for. `pip install --dry-run --ignore-installed --report` names every
distribution pip would install with the URL and SHA-256 of the one archive it chose
(wheels preferred), and each distribution's metadata, from which the dependency edges
between locked distributions are recorded (PEP 751 `dependencies`). A lock made by
`uv export --format pylock.toml` is read directly instead (lockfile.read_pylock).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from packaging.markers import Marker, default_environment
from packaging.requirements import InvalidRequirement, Requirement

from declos.pkgs.python.errors import PythonError
from declos.pkgs.python.lockfile import Artifact, LockedDist, PyLock, canonical_name, read_pylock
from declos.pkgs.python.project import read_project, requirement_name
from declos.pkgs.python.recording import RecordingLock


def project_requirements(project: str | Path) -> list[str]:
    """What locking a project needs: its dependencies and its build backend's."""
    data = read_project(Path(project))
    return [*data["dependencies"], *data["build_requires"]]


def lock_requirements(
    requirements: Sequence[str],
    *,
    path: str = "pylock.toml",
    only_binary: bool = False,
    no_binary: Sequence[str] = (),
    constraints: Sequence[str] = (),
    python: str = sys.executable,
) -> PyLock:
    """Resolve `requirements` with pip (wheels preferred; the sdist for `no_binary`
    names, to be built in the sandbox; `constraints` as pip's `-c`, for versions to
    keep) and return the lock."""
    for r in [*requirements, *constraints]:
        try:
            Requirement(r)
        except InvalidRequirement as exc:
            raise PythonError(f"requirement {r!r} is not valid (PEP 508): {exc}") from None
    with tempfile.TemporaryDirectory(prefix="declos-lock-") as tmp:
        report = os.path.join(tmp, "report.json")
        argv = [python, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet"]
        argv += ["--report", report]
        if constraints:
            with open(os.path.join(tmp, "constraints.txt"), "w", encoding="utf-8") as f:
                f.write("".join(f"{c}\n" for c in constraints))
            argv += ["-c", os.path.join(tmp, "constraints.txt")]
        argv += ["--only-binary=:all:"] if only_binary else ["--prefer-binary"]
        argv += [f"--no-binary={name}" for name in no_binary]
        proc = subprocess.run(
            [*argv, "--", *requirements], capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            tail = "\n".join(proc.stderr.strip().splitlines()[-8:])
            raise PythonError(f"pip could not resolve {' '.join(requirements)}:\n{tail}")
        with open(report, encoding="utf-8") as f:
            data = json.load(f)
    lock = import_pip_report(data, path=path)
    lock.roots = tuple(requirements)
    return lock


def relock(
    requirements: Sequence[str],
    *,
    old: PyLock | None,
    update: bool | Sequence[str] = False,
    sdists: Sequence[str] = (),
    path: str = "pylock.toml",
    python: str = sys.executable,
) -> PyLock:
    """`declos lock` for Python: `requirements` plus the old lock's roots, resolved again;
    every version the old lock pins stays (a pip constraint) unless `update` names it
    (True: none stays); what the old lock had only as an sdist, and `sdists`, stay sdists."""
    merged: dict[str, str] = {}
    for r in [*(old.roots if old else ()), *requirements]:
        key = canonical_name(requirement_name(r))
        if key not in merged or requirement_name(r) != r.strip():
            merged[key] = r  # a later requirement wins, unless it is a bare name
    moving = {canonical_name(n) for n in update} if not isinstance(update, bool) else set()
    pinned = (
        []
        if old is None or update is True
        else [f"{d.name}=={d.version}" for k, d in sorted(old.dists.items()) if k not in moving]
    )
    keep_sdist = {k for k, d in (old.dists.items() if old else ()) if not d.wheels}
    no_binary = sorted(keep_sdist | {canonical_name(n) for n in sdists})
    if not merged:
        return PyLock(path=path)
    try:
        return lock_requirements(
            sorted(merged.values()),
            path=path,
            no_binary=no_binary,
            constraints=pinned,
            python=python,
        )
    except PythonError as exc:
        if not pinned:
            raise
        raise PythonError(
            f"{exc}\n(the versions {path} already pins are kept; `declos lock --update NAME` "
            "lets NAME move)"
        ) from None


def update_pylock(
    path: str | Path,
    recorded: RecordingLock | None,
    update: bool | Sequence[str] = False,
    *,
    python: str = sys.executable,
) -> tuple[PyLock | None, PyLock] | None:
    """What `declos lock` does for Python: (old, new) lock for `path` given what the
    configuration's evaluation recorded, or None when there is nothing to lock (no
    Python used and no pylock.toml). An unchanged request with nothing to update
    returns the old lock as it is, without asking the index."""
    where = Path(path)
    old = read_pylock(where) if where.exists() else None
    wanted = list(recorded.requirements.values()) if recorded is not None else []
    sdists = sorted(recorded.sdists) if recorded is not None else []
    if old is None and not wanted:
        return None
    if old is not None and not update:
        sdist_moves = [n for n in sdists if n in old.dists and old.dists[n].wheels]
        if not sdist_moves and all(_locked_as_asked(old, r) for r in wanted):
            return old, old
    new = relock(wanted, old=old, update=update, sdists=sdists, path=str(where), python=python)
    return old, new


def _locked_as_asked(lock: PyLock, requirement: str) -> bool:
    """A bare name the lock has, or a requirement it was made for word for word."""
    name = requirement_name(requirement)
    if canonical_name(name) not in lock.dists:
        return False
    return name == requirement.strip() or requirement in lock.roots


def lock_changes(old: PyLock | None, new: PyLock) -> list[str]:
    """`+ NAME VERSION`, `~ NAME OLD -> NEW`, `- NAME VERSION` lines, sorted by name."""
    before = {k: d.version for k, d in old.dists.items()} if old is not None else {}
    lines = []
    for key, dist in sorted(new.dists.items()):
        if key not in before:
            lines.append(f"+ {dist.name} {dist.version} (python)")
        elif before[key] != dist.version:
            lines.append(f"~ {dist.name} {before[key]} -> {dist.version} (python)")
    for key in sorted(set(before) - set(new.dists)):
        lines.append(f"- {key} {before[key]} (python)")
    return lines


def read_pip_report(path: str | Path) -> PyLock:
    """A lock from a saved `pip install --dry-run --report FILE` (pip >= 23)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise PythonError(f"{path}: cannot read: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise PythonError(f"{path}:{exc.lineno}: not a pip report (JSON): {exc.msg}") from None
    if not isinstance(data, dict):
        raise PythonError(f"{path}:1: not a pip report: the JSON is not an object")
    try:
        return import_pip_report(data, path=str(Path(path).with_name("pylock.toml")))
    except (KeyError, TypeError, AttributeError, InvalidRequirement) as exc:
        raise PythonError(
            f"{path}: not a pip installation report (pip >= 23): {type(exc).__name__}: {exc}"
        ) from None


def import_pip_report(report: Mapping[str, Any], *, path: str = "pylock.toml") -> PyLock:
    """Turn pip's installation report into a PEP 751 lock with dependency edges."""
    items = report.get("install")
    if not isinstance(items, list):
        raise PythonError(f"{path}: a pip report has an `install` array; this one has none")
    env = {str(k): str(v) for k, v in (report.get("environment") or default_environment()).items()}
    names = {canonical_name(i["metadata"]["name"]) for i in items}
    dists: dict[str, LockedDist] = {}
    for item in items:
        meta = item["metadata"]
        info = item.get("download_info", {})
        url = info.get("url", "")
        archive = info.get("archive_info")
        if archive is None:
            raise PythonError(
                f"{meta['name']}: pip resolved it to {url or 'a local directory'}, not an "
                "archive with a hash; declos locks index archives only"
            )
        sha = (archive.get("hashes") or {}).get("sha256") or archive.get("hash", "").removeprefix(
            "sha256="
        )
        art = Artifact(url.rsplit("/", 1)[-1], url, sha)
        extras = list(item.get("requested_extras") or [])
        deps = _edges(meta.get("requires_dist") or [], env, extras, names)
        dist = LockedDist(
            meta["name"],
            meta["version"],
            wheels=(art,) if art.filename.endswith(".whl") else (),
            sdist=None if art.filename.endswith(".whl") else art,
            dependencies=deps,
        )
        dists[dist.key] = dist
    py = env.get("python_full_version", "")
    return PyLock(dists, requires_python=f"=={py}" if py else None, created_by="declos", path=path)


def _edges(
    requires: Iterable[str], env: Mapping[str, str], extras: list[str], names: set[str]
) -> tuple[str, ...]:
    out: set[str] = set()
    for text in requires:
        req = Requirement(text)
        key = canonical_name(req.name)
        if key not in names:
            continue
        if req.marker is None or any(
            _holds(req.marker, {**env, "extra": e}) for e in ["", *extras]
        ):
            out.add(key)
    return tuple(sorted(out))


def _holds(marker: Marker, env: dict[str, str]) -> bool:
    return marker.evaluate(env)
