"""PEP 751 `pylock.toml`: the Python lock declos reads and writes.

A lock names every distribution with its version, its artifacts (wheels and an sdist)
with SHA-256 hashes, and (an optional PEP 751 field declos always writes) the names of
the locked distributions it depends on, so an environment of a few of them can be
closed without resolving anything. Files written by `uv export --format pylock.toml` are
read as they are; declos only needs `name`, `version`, `wheels`/`sdist` and hashes.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from declos.pkgs.python.errors import PythonError, read_user_text

PYLOCK_NAME = "pylock.toml"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_NAME = re.compile(r"^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$")


def canonical_name(name: str) -> str:
    """PEP 503 normalised name: `Zope.Interface` and `zope_interface` are `zope-interface`."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Artifact:
    """One downloadable file of a distribution: a wheel or an sdist."""

    filename: str
    url: str
    sha256: str
    size: int | None = None


@dataclass(frozen=True)
class LockedDist:
    """One `[[packages]]` entry."""

    name: str
    version: str
    wheels: tuple[Artifact, ...] = ()
    sdist: Artifact | None = None
    dependencies: tuple[str, ...] | None = None  # canonical names; None = not recorded
    marker: str | None = None

    @property
    def key(self) -> str:
        return canonical_name(self.name)


@dataclass
class PyLock:
    """A parsed lock: distributions by canonical name."""

    dists: dict[str, LockedDist] = field(default_factory=dict)
    requires_python: str | None = None
    created_by: str = "declos"
    path: str = PYLOCK_NAME
    # The requirements the lock was made for (`[tool.declos] roots`): `declos lock`
    # locks them again with the configuration's, so nothing named once is dropped.
    roots: tuple[str, ...] = ()

    def get(self, name: str) -> LockedDist:
        key = canonical_name(name)
        if key not in self.dists:
            known = ", ".join(sorted(self.dists)) or "none"
            raise PythonError(
                f"{self.path}: no Python distribution {name!r} is locked (locked: {known}); "
                "add it to the requirements and lock again"
            )
        return self.dists[key]

    def closure(self, names: Iterable[str]) -> list[str]:
        """`names` and every locked distribution they depend on (canonical names, sorted)."""
        seen: set[str] = set()
        todo = [canonical_name(n) for n in names]
        while todo:
            key = todo.pop()
            if key in seen:
                continue
            dist = self.get(key)
            seen.add(key)
            todo.extend(d for d in dist.dependencies or () if d in self.dists)
        return sorted(seen)

    def write(self, path: str | Path) -> None:
        Path(path).write_text(dumps(self), encoding="utf-8")


# -- reading ------------------------------------------------------------------------------
def read_pylock(path: str | Path) -> PyLock:
    """Parse a pylock.toml; every problem is a PythonError naming the file and line."""
    p = Path(path)
    return loads(read_user_text(p, "the Python lock"), str(p))


def loads(text: str, where: str = PYLOCK_NAME) -> PyLock:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        line = m.group(1) if m else "1"
        raise PythonError(f"{where}:{line}: not valid TOML: {exc}") from None
    version = data.get("lock-version")
    if not isinstance(version, str) or not version.startswith("1."):
        raise PythonError(
            f'{where}:{_line_of(text, "lock-version")}: `lock-version` must be "1.0" '
            f"(PEP 751), not {version!r}"
        )
    packages = data.get("packages", [])
    if not isinstance(packages, list):
        raise PythonError(f"{where}:{_line_of(text, 'packages')}: `packages` must be an array")
    lock = PyLock(
        requires_python=_opt_str(data.get("requires-python")),
        created_by=str(data.get("created-by", "")),
        path=where,
        roots=_roots(data, text, where),
    )
    for i, raw in enumerate(packages):
        dist = _parse_dist(raw, i, text, where)
        if dist.key in lock.dists:
            if dist.marker is None and lock.dists[dist.key].marker is None:
                raise PythonError(
                    f"{where}:{_line_of(text, dist.name)}: {dist.name} is locked twice; "
                    "a lock for one interpreter has one version of each distribution"
                )
            continue  # several marker-guarded entries: the first one serves this host
        lock.dists[dist.key] = dist
    return lock


def _roots(data: dict[str, object], text: str, where: str) -> tuple[str, ...]:
    tool = data.get("tool")
    ours = tool.get("declos") if isinstance(tool, dict) else None
    roots = ours.get("roots", []) if isinstance(ours, dict) else []
    if not isinstance(roots, list) or not all(isinstance(r, str) for r in roots):
        raise PythonError(
            f"{where}:{_line_of(text, 'roots')}: [tool.declos] roots must be a list of "
            "requirement strings"
        )
    return tuple(roots)


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _line_of(text: str, needle: str) -> int:
    for n, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return n
    return 1


def _parse_dist(raw: object, i: int, text: str, where: str) -> LockedDist:
    if not isinstance(raw, dict):
        raise PythonError(f"{where}: packages[{i}] must be a table")
    name = raw.get("name")
    line = _line_of(text, f'"{name}"') if isinstance(name, str) else _line_of(text, "[[packages]]")
    at = f"{where}:{line}"
    if not isinstance(name, str) or not _NAME.match(name):
        raise PythonError(f"{at}: packages[{i}].name must be a distribution name, not {name!r}")
    version = raw.get("version")
    if not isinstance(version, str) or not version:
        raise PythonError(f"{at}: {name}: `version` is required (a locked distribution is pinned)")
    wheels = tuple(_artifact(w, f"{at}: {name} wheel") for w in raw.get("wheels", []) or [])
    sdist = _artifact(raw["sdist"], f"{at}: {name} sdist") if raw.get("sdist") else None
    if not wheels and sdist is None:
        raise PythonError(
            f"{at}: {name} {version} has neither `wheels` nor `sdist`; declos installs only "
            "from archives with hashes (lock it from an index, not from a directory or VCS)"
        )
    deps_raw = raw.get("dependencies")
    deps: tuple[str, ...] | None = None
    if isinstance(deps_raw, list):
        deps = tuple(
            sorted(
                {canonical_name(d["name"]) for d in deps_raw if isinstance(d, dict) and "name" in d}
            )
        )
    return LockedDist(name, version, wheels, sdist, deps, _opt_str(raw.get("marker")))


def _artifact(raw: object, where: str) -> Artifact:
    if not isinstance(raw, dict):
        raise PythonError(f"{where}: must be a table with `url` and `hashes`")
    url = raw.get("url")
    if not isinstance(url, str) or not url:
        raise PythonError(f"{where}: `url` is required (declos fetches by URL and hash)")
    filename = raw.get("name") or url.rsplit("/", 1)[-1].split("#", 1)[0].split("?", 1)[0]
    if not isinstance(filename, str) or "/" in filename or filename in ("", ".", ".."):
        raise PythonError(f"{where}: bad file name {filename!r}")
    hashes = raw.get("hashes")
    sha = hashes.get("sha256") if isinstance(hashes, dict) else None
    if not isinstance(sha, str) or not _SHA256.match(sha):
        raise PythonError(
            f"{where} {filename}: `hashes.sha256` is required (64 hex digits); "
            "lock with hashes (`uv export --format pylock.toml` writes them)"
        )
    size = raw.get("size")
    return Artifact(filename, url, sha, size if isinstance(size, int) else None)


# -- writing ------------------------------------------------------------------------------
def _s(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string


def _artifact_table(a: Artifact) -> str:
    size = f", size = {a.size}" if a.size is not None else ""
    return f"{{ name = {_s(a.filename)}, url = {_s(a.url)}{size}, hashes = {{ sha256 = {_s(a.sha256)} }} }}"


def dumps(lock: PyLock) -> str:
    """The lock as PEP 751 TOML (sorted by name, so the same lock gives the same bytes)."""
    out = ['lock-version = "1.0"', f"created-by = {_s(lock.created_by or 'declos')}"]
    if lock.requires_python:
        out.append(f"requires-python = {_s(lock.requires_python)}")
    for key in sorted(lock.dists):
        d = lock.dists[key]
        out += ["", "[[packages]]", f"name = {_s(d.name)}", f"version = {_s(d.version)}"]
        if d.marker:
            out.append(f"marker = {_s(d.marker)}")
        if d.dependencies is not None:
            deps = ", ".join(f"{{ name = {_s(n)} }}" for n in d.dependencies)
            out.append(f"dependencies = [{deps}]")
        if d.sdist is not None:
            out.append(f"sdist = {_artifact_table(d.sdist)}")
        if d.wheels:
            out.append("wheels = [")
            out += [f"  {_artifact_table(w)}," for w in d.wheels]
            out.append("]")
    if lock.roots:
        out += ["", "[tool.declos]", f"roots = [{', '.join(_s(r) for r in lock.roots)}]"]
    return "\n".join(out) + "\n"
