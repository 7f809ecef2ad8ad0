"""Crash-safe file primitives: every change goes through a rename.

A kill -9 at any instant must leave either the old or the new version of a path, never a
half-written or missing one, so writers stage next to the destination and rename(2)
over it. One argument order for links, the order of `ln -s TARGET LINK`.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from pathlib import Path


def _staging_name(path: Path) -> Path:
    """A sibling name no other writer (process or thread) uses at the same time."""
    return path.with_name(f".{path.name}.declos-tmp.{os.getpid()}.{secrets.token_hex(4)}")


def atomic_write(
    path: str | os.PathLike[str],
    data: bytes | str,
    mode: int = 0o644,
    *,
    uid: int | None = None,
    gid: int | None = None,
) -> None:
    """Replace `path` with `data` in one rename, mode and owner set before it appears.

    The parent directory is created if missing. The data is fsynced before the rename so
    a power loss cannot leave an empty file under the final name."""
    dest = Path(path)
    payload = data.encode() if isinstance(data, str) else data
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = _staging_name(dest)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        try:
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view) :]
            os.fchmod(fd, mode)
            if uid is not None or gid is not None:
                os.fchown(fd, -1 if uid is None else uid, -1 if gid is None else gid)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, dest)
    except BaseException:
        _unlink_quietly(tmp)
        raise


def atomic_symlink(target: str, link: str | os.PathLike[str]) -> None:
    """Make `link` a symlink to `target` (like `ln -s TARGET LINK`), replacing whatever
    non-directory was at `link` in one rename, so `link` is never missing."""
    dest = Path(link)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = _staging_name(dest)
    os.symlink(target, tmp)
    try:
        os.rename(tmp, dest)
    except BaseException:
        _unlink_quietly(tmp)
        raise


def _unlink_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def write_json(path: str | os.PathLike[str], value: object) -> None:
    """Write `value` as sorted, indented JSON, atomically (mode 0644)."""
    atomic_write(path, json.dumps(value, indent=1, sort_keys=True) + "\n", mode=0o644)


def read_json(path: str | os.PathLike[str], default: object) -> object:
    """The parsed JSON at `path`, or `default` when the file does not exist."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return default


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's content, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()
