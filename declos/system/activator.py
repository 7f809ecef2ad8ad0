"""The activator store path: `declos/activation`, `declos/common` and jeepney, so a host
needs only python3.

Layout: STORE/HASH-declos-activator/lib/{declos/__init__.py, declos/activation/**,
declos/common/**, jeepney/**}
(sources only, no __pycache__). Copying and NAR-hashing it on every build is the one
non-trivial cost of a warm build, so the resulting path is cached in the state directory
under a fingerprint of the source files (relative path, size, mtime): unchanged sources
and a still-valid path mean nothing is read.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import declos

NAME = "declos-activator"


def source_files() -> list[tuple[str, str]]:
    """(relative path under lib/, absolute source) for every file the activator ships."""
    package_dir = Path(declos.__file__).resolve().parent
    files = [("declos/__init__.py", str(package_dir / "__init__.py"))]
    files += _tree(package_dir / "activation", "declos/activation")
    files += _tree(package_dir / "common", "declos/common")
    import jeepney

    files += _tree(Path(jeepney.__file__).resolve().parent, "jeepney")
    return sorted(files)


def _tree(root: Path, prefix: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__" and d != "tests")
        for filename in sorted(filenames):
            if filename.endswith((".pyc", ".pyo")):
                continue
            source = os.path.join(dirpath, filename)
            rel = os.path.relpath(source, root)
            out.append((f"{prefix}/{rel}", source))
    return out


def fingerprint(files: list[tuple[str, str]]) -> str:
    digest = hashlib.sha256()
    for rel, source in files:
        st = os.stat(source)
        digest.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_mode & 0o100}\n".encode())
    return digest.hexdigest()


def build_activator(store: object) -> str:
    """The activator's store path, added only when its sources changed since the last build."""
    files = source_files()
    key = fingerprint(files)
    cache_file = os.path.join(store.physical_state, "cache", "activator.json")  # type: ignore[attr-defined]
    try:
        with open(cache_file, encoding="utf-8") as handle:
            cached = json.load(handle)
        if cached.get("fingerprint") == key and store.is_valid(cached.get("path", "")):  # type: ignore[attr-defined]
            return str(cached["path"])
    except (OSError, ValueError):
        pass
    with tempfile.TemporaryDirectory(prefix="declos-activator-") as tmp:
        root = os.path.join(tmp, NAME)
        for rel, source in files:
            dest = os.path.join(root, "lib", rel)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copyfile(source, dest)
        path = str(store.add_path(root, name=NAME))  # type: ignore[attr-defined]
    os.makedirs(os.path.dirname(cache_file), exist_ok=True)
    temp = cache_file + f".tmp{os.getpid()}"
    with open(temp, "w", encoding="utf-8") as handle:
        json.dump({"fingerprint": key, "path": path}, handle)
    os.replace(temp, cache_file)
    return path
