"""Crash-safe file primitives: every change to the host goes through a rename.

A kill -9 at any instant must leave either the old or the new version of a path, never a
half-written one, so writers stage next to the destination and rename(2) over it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.declos-tmp.{os.getpid()}")


def atomic_write(
    path: Path, data: bytes | str, mode: int = 0o644, uid: int | None = None, gid: int | None = None
) -> None:
    """Replace `path` with `data` in one rename, with mode/owner set before it appears."""
    if isinstance(data, str):
        data = data.encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fchmod(fd, mode)
        if uid is not None or gid is not None:
            os.fchown(fd, -1 if uid is None else uid, -1 if gid is None else gid)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(tmp, path)


def atomic_symlink(path: Path, target: str) -> None:
    """Point `path` at `target`, replacing whatever non-directory was there, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(path)
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(target, tmp)
    os.rename(tmp, path)


def write_json(path: Path, value: Any) -> None:
    atomic_write(path, json.dumps(value, indent=1, sort_keys=True) + "\n", mode=0o644)


def read_json(path: Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return default


def sha256_file(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()
