"""Unpacking a `.deb` without dpkg and without running anything from it (deb(5)).

An ar archive: `debian-binary`, `control.tar.*`, `data.tar.*` in that order (members
starting with `_` ignored). The data tree is extracted with setuid/setgid bits stripped
(recorded instead, for `security.wrappers`), device nodes skipped, and every member name
checked so nothing lands outside the target. Control files (maintainer scripts,
conffiles, triggers) are kept aside for `declos pkgs audit`.
"""

from __future__ import annotations

import bz2
import gzip
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
    """The member as a tar read from memory (decompressed whole: extraction then slices
    file contents out of that buffer instead of streaming each member)."""
    if name.endswith(".xz"):
        raw: bytes = lzma.decompress(blob)
    elif name.endswith(".gz"):
        raw = gzip.decompress(blob)
    elif name.endswith(".bz2"):
        raw = bz2.decompress(blob)
    elif name.endswith(".tar"):
        raw = blob
    elif name.endswith(".zst"):
        proc = subprocess.run(["zstd", "-dc"], input=blob, capture_output=True)
        if proc.returncode != 0:
            raise DebianError(f"{where}: cannot decompress {name} (is zstd installed?)")
        raw = proc.stdout
    else:
        raise DebianError(f"{where}: unsupported member {name}")
    try:
        return tarfile.open(fileobj=io.BytesIO(raw), mode="r:")
    except tarfile.TarError as exc:
        raise DebianError(f"{where}: {name} is not a tar archive: {exc}") from None


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


def _through_link(rel: str, links: set[str]) -> str | None:
    """The symlink member `rel` would be written through, if any."""
    parts = rel.split("/")
    for i in range(1, len(parts)):
        prefix = "/".join(parts[:i])
        if prefix in links:
            return prefix
    return None


def extract(tar: tarfile.TarFile, dest: str, where: str) -> Unpacked:
    """Extract every regular file, directory, symlink and hard link of `tar` into `dest`.

    Nothing lands outside `dest`: member names with `..` or absolute are refused, and so
    is a member below a symlink the archive made (`a -> /etc`, then `a/passwd`).
    Regular files are written straight from the decompressed buffer; the store fixes
    modes afterwards, so only the owner's bits matter here."""
    result = Unpacked()
    os.makedirs(dest, exist_ok=True)
    buffer = tar.fileobj.getbuffer() if isinstance(tar.fileobj, io.BytesIO) else None
    made_dirs = {dest}
    written: set[str] = set()
    links: set[str] = set()
    for m in tar.getmembers():
        rel = os.path.normpath(m.name.lstrip("./") or ".")
        if rel == ".":
            continue
        if rel.startswith("..") or os.path.isabs(rel):
            raise DebianError(f"{where}: member {m.name!r} would land outside the package")
        via = _through_link(rel, links) if links else None
        if via is not None:
            raise DebianError(
                f"{where}: member {m.name!r} would be written through the symlink {via!r}"
            )
        target = os.path.join(dest, rel)
        if m.isdir():
            if target not in made_dirs:
                os.makedirs(target, exist_ok=True)
                made_dirs.add(target)
            continue
        parent = os.path.dirname(target)
        if parent not in made_dirs:
            os.makedirs(parent, exist_ok=True)
            made_dirs.add(parent)
        if rel in written:
            os.unlink(target)
            links.discard(rel)
        written.add(rel)
        if m.issym():
            os.symlink(m.linkname, target)
            links.add(rel)
        elif m.islnk():
            src = os.path.join(dest, os.path.normpath(m.linkname.lstrip("./")))
            if not os.path.realpath(src).startswith(os.path.realpath(dest) + os.sep):
                raise DebianError(f"{where}: hard link {m.name!r} points outside the package")
            os.link(src, target)
        elif m.isreg():
            mode = m.mode & 0o7777
            if mode & (stat.S_ISUID | stat.S_ISGID):
                result.setuid[rel] = mode
            _write_member(tar, m, buffer, target, mode & 0o755 | 0o600)
        else:
            result.skipped.append(rel)
    return result


def _write_member(
    tar: tarfile.TarFile, m: tarfile.TarInfo, buffer: memoryview | None, target: str, mode: int
) -> None:
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        if buffer is not None and not m.issparse():
            view = buffer[m.offset_data : m.offset_data + m.size]
            while view:
                view = view[os.write(fd, view) :]
        else:
            f: IO[bytes] | None = tar.extractfile(m)
            assert f is not None
            while chunk := f.read(1 << 20):
                os.write(fd, chunk)
    finally:
        os.close(fd)


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
