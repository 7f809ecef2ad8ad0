"""Unpacking a `.deb` without dpkg and without running anything from it (deb(5)).

An ar archive: `debian-binary`, `control.tar.*`, `data.tar.*` in that order (members
starting with `_` ignored). The data tree is extracted with setuid/setgid bits stripped
(recorded instead, for `security.wrappers`), device nodes skipped, and every member name
checked so nothing lands outside the target. Control files (maintainer scripts,
conffiles, triggers) are kept aside for `declos pkgs audit`.
"""

from __future__ import annotations

import io
import lzma
import os
import stat
import subprocess
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from declos.pkgs.debian.errors import DebianError


@dataclass
class Unpacked:
    """What unpacking found that the store cannot keep as file modes."""

    setuid: dict[str, int] = field(default_factory=dict)  # path -> original mode
    skipped: list[str] = field(default_factory=list)


def ar_members(data: bytes, where: str) -> Iterator[tuple[str, bytes]]:
    if not data.startswith(b"!<arch>\n"):
        raise DebianError(f"{where}: not a .deb (no ar header)")
    pos = 8
    while pos + 60 <= len(data):
        header = data[pos : pos + 60]
        name = header[:16].decode("ascii", errors="replace").strip().rstrip("/")
        try:
            size = int(header[48:58].decode().strip())
        except ValueError:
            raise DebianError(f"{where}: corrupt ar member header at {pos}") from None
        start = pos + 60
        yield name, data[start : start + size]
        pos = start + size + (size & 1)


def _open_tar(name: str, blob: bytes, where: str) -> tarfile.TarFile:
    if name.endswith(".xz"):
        raw: bytes = lzma.decompress(blob)
    elif name.endswith(".gz") or name.endswith(".bz2") or name.endswith(".tar"):
        return tarfile.open(fileobj=io.BytesIO(blob), mode="r:*")
    elif name.endswith(".zst"):
        proc = subprocess.run(["zstd", "-dc"], input=blob, capture_output=True)
        if proc.returncode != 0:
            raise DebianError(f"{where}: cannot decompress {name} (is zstd installed?)")
        raw = proc.stdout
    else:
        raise DebianError(f"{where}: unsupported member {name}")
    return tarfile.open(fileobj=io.BytesIO(raw), mode="r:")


def read_deb(path: str) -> tuple[tarfile.TarFile, tarfile.TarFile]:
    """(control tar, data tar) of the .deb at `path`."""
    with open(path, "rb") as f:
        data = f.read()
    control = payload = None
    for name, blob in ar_members(data, path):
        if name.startswith("control.tar"):
            control = _open_tar(name, blob, path)
        elif name.startswith("data.tar"):
            payload = _open_tar(name, blob, path)
    if control is None or payload is None:
        raise DebianError(f"{path}: .deb without control.tar or data.tar")
    return control, payload


def extract(tar: tarfile.TarFile, dest: str, where: str) -> Unpacked:
    """Extract every regular file, directory, symlink and hard link of `tar` into `dest`."""
    result = Unpacked()
    os.makedirs(dest, exist_ok=True)
    for m in tar.getmembers():
        rel = os.path.normpath(m.name.lstrip("./") or ".")
        if rel == ".":
            continue
        if rel.startswith("..") or os.path.isabs(rel):
            raise DebianError(f"{where}: member {m.name!r} would land outside the package")
        target = os.path.join(dest, rel)
        if m.isdir():
            os.makedirs(target, exist_ok=True)
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if os.path.lexists(target):
            os.unlink(target)
        if m.issym():
            os.symlink(m.linkname, target)
        elif m.islnk():
            src = os.path.join(dest, os.path.normpath(m.linkname.lstrip("./")))
            if not os.path.realpath(src).startswith(os.path.realpath(dest) + os.sep):
                raise DebianError(f"{where}: hard link {m.name!r} points outside the package")
            os.link(src, target)
        elif m.isreg():
            f: IO[bytes] | None = tar.extractfile(m)
            assert f is not None
            with open(target, "wb") as out:
                while chunk := f.read(1 << 20):
                    out.write(chunk)
            mode = m.mode & 0o7777
            if mode & (stat.S_ISUID | stat.S_ISGID):
                result.setuid[rel] = mode
            os.chmod(target, mode & 0o755 | 0o600)
        else:
            result.skipped.append(rel)
    return result


def extract_control(tar: tarfile.TarFile, dest: str) -> None:
    """Keep the control files (scripts, conffiles, triggers) as plain data."""
    os.makedirs(dest, exist_ok=True)
    for m in tar.getmembers():
        name = os.path.basename(m.name)
        if m.isreg() and name and not name.startswith("."):
            f = tar.extractfile(m)
            assert f is not None
            with open(os.path.join(dest, name), "wb") as out:
                out.write(f.read())
