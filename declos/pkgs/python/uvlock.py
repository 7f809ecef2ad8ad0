"""A project's `uv.lock`, imported as a Python lock (docs/python.md, "uv.lock").

uv's lock is universal: one file for every platform and Python version, with the
project's own members (`source = { editable = "." }` / `virtual` / `directory`) beside
the distributions from the index. declos reads the distributions that come as archives
with a SHA-256 hash (`wheels = [{ url, hash = "sha256:..." }]`, `sdist`), keeps the
dependency edges whose markers hold on this host (a `pywin32; sys_platform == 'win32'`
edge is dropped, so an environment never asks for a Windows-only wheel; an edge asking for
extras, `{ name = "httpx", extra = ["http2"] }`, also brings the target's
`optional-dependencies` of those extras), and of several entries of one name (uv's
resolution forks) keeps the first whose `resolution-markers` hold here. The hashes are those `fetch` verifies: a file whose SHA-256 differs from the
lock's is never kept or installed.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from packaging.markers import InvalidMarker, Marker, default_environment

from declos.pkgs.python.errors import PythonError, read_user_text
from declos.pkgs.python.lockfile import Artifact, LockedDist, PyLock, canonical_name, read_pylock

UV_LOCK_NAME = "uv.lock"
_SHA256 = re.compile(r"^sha256:([0-9a-f]{64})$")
_LOCAL_SOURCES = ("editable", "virtual", "directory")  # the project's own members


def read_python_lock(path: str | Path) -> PyLock:
    """The Python lock at `path`: a uv.lock (by its file name) or a PEP 751 pylock.toml."""
    p = Path(path)
    if p.name != UV_LOCK_NAME:
        return read_pylock(p)
    return loads_uv(read_user_text(p, "the Python lock"), str(p))


def loads_uv(text: str, where: str) -> PyLock:
    """Parse uv.lock text; every problem is a PythonError naming the file and line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        raise PythonError(f"{where}:{m.group(1) if m else 1}: not valid TOML: {exc}") from None
    version = data.get("version")
    if version != 1:
        raise PythonError(
            f"{where}:{_line(text, 'version')}: a uv.lock of `version = 1` is expected "
            f"(uv 0.4 and later), not {version!r}"
        )
    packages = data.get("package", [])
    if not isinstance(packages, list):
        raise PythonError(f"{where}:{_line(text, '[[package]]')}: `package` must be an array")
    env = {k: str(v) for k, v in default_environment().items()}
    lock = PyLock(
        requires_python=data.get("requires-python")
        if isinstance(data.get("requires-python"), str)
        else None,
        created_by="uv",
        path=where,
    )
    kept: list[tuple[dict[str, Any], str]] = []
    for i, raw in enumerate(packages):
        if not isinstance(raw, dict):
            raise PythonError(f"{where}: package[{i}] must be a table")
        at = f"{where}:{_package_line(text, i)}"
        source = raw.get("source", {})
        if isinstance(source, dict) and any(k in source for k in _LOCAL_SOURCES):
            continue
        if _holds_any(raw.get("resolution-markers"), env, at):
            kept.append((raw, at))
    extras = _optional_dependencies(kept)
    for raw, at in kept:
        dist = _dist(raw, env, at, extras)
        if dist.key not in lock.dists:
            lock.dists[dist.key] = dist
        elif not raw.get("resolution-markers"):
            raise PythonError(
                f"{at}: {dist.name} is locked twice without `resolution-markers`; "
                "run `uv lock` again"
            )
    return lock


Extras = dict[str, dict[str, list[Any]]]


def _optional_dependencies(kept: list[tuple[dict[str, Any], str]]) -> Extras:
    """{canonical name: {extra: dependency tables}} of the entries used on this host."""
    found: Extras = {}
    for raw, at in kept:
        table = raw.get("optional-dependencies", {})
        if not isinstance(table, dict) or not all(isinstance(v, list) for v in table.values()):
            raise PythonError(f"{at}: `optional-dependencies` maps extras to arrays of tables")
        found.setdefault(canonical_name(str(raw.get("name", ""))), table)
    return found


def _dependency_names(
    deps: list[Any], env: dict[str, str], at: str, extras: Extras, seen: set[tuple[str, str]]
) -> set[str]:
    """The names `deps` bring on this host: each edge whose marker holds, plus, for an
    edge with `extra = [...]`, the target's optional dependencies of those extras
    (recursively: an optional dependency may ask for extras too)."""
    names: set[str] = set()
    for d in deps:
        if not isinstance(d, dict) or not isinstance(d.get("name"), str):
            raise PythonError(f"{at}: a dependency is a table with a `name`, not {d!r}")
        if not _holds(d.get("marker"), env, at):
            continue
        target = canonical_name(d["name"])
        names.add(target)
        wanted = d.get("extra", [])
        if not isinstance(wanted, list):
            raise PythonError(f"{at}: {d['name']}: `extra` is an array of extra names")
        for extra in wanted:
            if (target, str(extra)) in seen:
                continue
            seen.add((target, str(extra)))
            more = extras.get(target, {}).get(str(extra), [])
            names |= _dependency_names(more, env, at, extras, seen)
    return names


def _dist(raw: dict[str, Any], env: dict[str, str], at: str, extras: Extras) -> LockedDist:
    name, version = raw.get("name"), raw.get("version")
    if not isinstance(name, str) or not name:
        raise PythonError(f"{at}: `name` must be a distribution name, not {name!r}")
    if not isinstance(version, str) or not version:
        raise PythonError(f"{at}: {name}: `version` is required (a locked distribution is pinned)")
    wheels = tuple(_artifact(w, f"{at}: {name} wheel") for w in raw.get("wheels", []) or [])
    sdist = _artifact(raw["sdist"], f"{at}: {name} sdist") if raw.get("sdist") else None
    if not wheels and sdist is None:
        raise PythonError(
            f"{at}: {name} {version} comes from {_describe(raw.get('source'))}, with no archive; "
            "declos installs only archives with hashes (lock it from an index)"
        )
    deps = raw.get("dependencies", [])
    if not isinstance(deps, list):
        raise PythonError(f"{at}: {name}: `dependencies` must be an array of tables")
    names = _dependency_names(deps, env, at, extras, set())
    return LockedDist(name, version, wheels, sdist, tuple(sorted(names)))


def _artifact(raw: object, where: str) -> Artifact:
    if not isinstance(raw, dict):
        raise PythonError(f"{where}: must be a table with `url` and `hash`")
    url = raw.get("url")
    if not isinstance(url, str) or not url:
        what = "a local `path`" if "path" in raw else "no `url`"
        raise PythonError(
            f"{where}: {what}; declos fetches archives by URL and hash (lock from an index)"
        )
    filename = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    if not filename or filename in (".", ".."):
        raise PythonError(f"{where}: {url} does not end in a file name")
    m = _SHA256.match(str(raw.get("hash", "")))
    if not m:
        raise PythonError(
            f"{where} {filename}: `hash` must be sha256:<64 hex digits>, not "
            f"{raw.get('hash')!r}; declos installs only archives it can verify"
        )
    size = raw.get("size")
    return Artifact(filename, url, m.group(1), size if isinstance(size, int) else None)


def _holds(marker: object, env: dict[str, str], at: str) -> bool:
    if marker is None:
        return True
    if not isinstance(marker, str):
        raise PythonError(f"{at}: a marker is a string, not {marker!r}")
    try:
        return Marker(marker).evaluate({**env, "extra": ""})
    except InvalidMarker as exc:
        raise PythonError(f"{at}: invalid marker {marker!r}: {exc}") from None


def _holds_any(markers: object, env: dict[str, str], at: str) -> bool:
    if markers is None:
        return True
    if not isinstance(markers, list):
        raise PythonError(f"{at}: `resolution-markers` is an array of strings")
    return any(_holds(m, env, at) for m in markers)


def _describe(source: object) -> str:
    if isinstance(source, dict) and source:
        kind, value = next(iter(source.items()))
        return f"{kind} {value}"
    return "no source"


def _line(text: str, needle: str) -> int:
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith(needle):
            return n
    return 1


def _package_line(text: str, index: int) -> int:
    """The line of the index-th `[[package]]` header (TOML parsing keeps no positions)."""
    seen = -1
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip() == "[[package]]":
            seen += 1
            if seen == index:
                return n
    return 1
