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
from declos.pkgs.python.lockfile import Artifact, LockedDist, PyLock, canonical_name
from declos.pkgs.python.project import read_project


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
    python: str = sys.executable,
) -> PyLock:
    """Resolve `requirements` with pip (wheels preferred; the sdist for `no_binary`
    names, to be built in the sandbox) and return the lock."""
    for r in requirements:
        try:
            Requirement(r)
        except InvalidRequirement as exc:
            raise PythonError(f"requirement {r!r} is not valid (PEP 508): {exc}") from None
    with tempfile.TemporaryDirectory(prefix="declos-lock-") as tmp:
        report = os.path.join(tmp, "report.json")
        argv = [python, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet"]
        argv += ["--report", report]
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
    return import_pip_report(data, path=path)


def read_pip_report(path: str | Path) -> PyLock:
    """A lock from a saved `pip install --dry-run --report FILE` (pip >= 23)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise PythonError(f"{path}: cannot read: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise PythonError(f"{path}:{exc.lineno}: not a pip report (JSON): {exc.msg}") from None
    return import_pip_report(data, path=str(Path(path).with_name("pylock.toml")))


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
