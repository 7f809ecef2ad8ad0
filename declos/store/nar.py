"""NAR (Nix ARchive) serialisation, byte-identical to `nix-store --dump` (src/libutil/archive.cc).

The NAR is what store path hashes are computed over, what `copy` streams and what `verify`
re-hashes, so the writer also copies a tree while it serialises it (one read per file) and
the reader restores straight to disk with canonical metadata.
"""

from __future__ import annotations

import hashlib
import os
import stat
import struct
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from declos.store.errors import StoreError

NAR_MAGIC = b"nix-archive-1"
CHUNK = 1 << 20
_U64 = struct.Struct("<Q")
_PAD = b"\0" * 8


def nstr(data: bytes) -> bytes:
    """A NAR string: u64 little-endian length, bytes, zero padding to 8."""
    return _U64.pack(len(data)) + data + _PAD[: (-len(data)) % 8]


_T_OPEN = nstr(b"(")
_T_CLOSE = nstr(b")")
_T_HEADER = nstr(NAR_MAGIC)
_T_REGULAR = nstr(b"(") + nstr(b"type") + nstr(b"regular")
_T_EXEC = nstr(b"executable") + nstr(b"")
_T_CONTENTS = nstr(b"contents")
_T_SYMLINK = nstr(b"(") + nstr(b"type") + nstr(b"symlink") + nstr(b"target")
_T_DIR = nstr(b"(") + nstr(b"type") + nstr(b"directory")
_T_ENTRY = nstr(b"entry") + nstr(b"(") + nstr(b"name")
_T_NODE = nstr(b"node")
_H_REGULAR = _T_REGULAR + _T_CONTENTS
_H_EXEC = _T_REGULAR + _T_EXEC + _T_CONTENTS

Sink = Callable[[bytes], object]


def _set_canonical(path: str, executable_or_dir: bool) -> None:
    os.chmod(path, 0o555 if executable_or_dir else 0o444)
    os.utime(path, (1, 1))


def dump(path: str | Path, sink: Sink, copy_to: str | None = None) -> None:
    """Serialise `path` into `sink`; with `copy_to`, also recreate it there canonically.

    Copying while dumping reads each file once, which is what makes `add_path` as fast as
    `nix-store --add` on big trees.
    """
    sink(_T_HEADER)
    _dump(os.fspath(path), sink, copy_to)


def _dump(path: str, sink: Sink, copy_to: str | None) -> None:
    st = os.lstat(path)
    mode = st.st_mode
    if stat.S_ISREG(mode):
        executable = bool(mode & 0o100)
        size = st.st_size
        header = (_H_EXEC if executable else _H_REGULAR) + _U64.pack(size)
        if size <= CHUNK:
            # Small file: one unbuffered read and one sink call (most files are small).
            fd = os.open(path, os.O_RDONLY)
            try:
                data = os.read(fd, size + 1)
            finally:
                os.close(fd)
            if len(data) != size:
                raise StoreError(f"{path}: file changed size while it was being read")
            sink(b"".join((header, data, _PAD[: (-size) % 8], _T_CLOSE)))
            if copy_to is not None:
                _write_file(copy_to, (data,), executable)
            return
        with open(path, "rb") as f:
            sink(header)
            out = open(copy_to, "wb") if copy_to is not None else None
            try:
                remaining = size
                while remaining > 0:
                    data = f.read(min(CHUNK, remaining))
                    if not data:
                        raise StoreError(f"{path}: file shrank while it was being read")
                    remaining -= len(data)
                    sink(data)
                    if out is not None:
                        out.write(data)
                if f.read(1):
                    raise StoreError(f"{path}: file grew while it was being read")
                if out is not None:
                    os.fchmod(out.fileno(), 0o555 if executable else 0o444)
            finally:
                if out is not None:
                    out.close()
        sink(_PAD[: (-size) % 8] + _T_CLOSE)
        if copy_to is not None:
            os.utime(copy_to, (1, 1))
    elif stat.S_ISLNK(mode):
        target = os.readlink(path)
        sink(_T_SYMLINK + nstr(os.fsencode(target)) + _T_CLOSE)
        if copy_to is not None:
            os.symlink(target, copy_to)
            os.utime(copy_to, (1, 1), follow_symlinks=False)
    elif stat.S_ISDIR(mode):
        sink(_T_DIR)
        if copy_to is not None:
            os.mkdir(copy_to, 0o755)
        for name in sorted(os.listdir(os.fsencode(path))):
            sink(_T_ENTRY + nstr(name) + _T_NODE)
            sub = os.fsdecode(name)
            _dump(os.path.join(path, sub), sink, None if copy_to is None else os.path.join(copy_to, sub))
            sink(_T_CLOSE)
        sink(_T_CLOSE)
        if copy_to is not None:
            _set_canonical(copy_to, True)
    else:
        raise StoreError(f"{path}: unsupported file type (only files, directories and symlinks go in the store)")


def _write_file(dest: str, chunks: tuple[bytes, ...], executable: bool) -> None:
    """Create `dest` read-only with canonical mode and mtime, set through the open fd."""
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o555 if executable else 0o444)
    try:
        for c in chunks:
            view = memoryview(c)
            while view:
                view = view[os.write(fd, view):]
        os.utime(fd, (1, 1))
    finally:
        os.close(fd)


def dump_bytes(path: str | Path) -> bytes:
    parts: list[bytes] = []
    dump(path, parts.append)
    return b"".join(parts)


def nar_hash(path: str | Path) -> tuple[str, int]:
    """(sha256 hex of the NAR, NAR size) without materialising the NAR."""
    h = hashlib.sha256()
    size = 0

    def sink(data: bytes) -> None:
        nonlocal size
        h.update(data)
        size += len(data)

    dump(path, sink)
    return h.hexdigest(), size


class NarReader:
    """Restores one NAR from a stream to disk, hashing every byte it consumes."""

    def __init__(self, stream: BinaryIO | Callable[[int], bytes]) -> None:
        self._read = stream if callable(stream) else stream.read
        self.hasher = hashlib.sha256()
        self.size = 0
        self.on_data: Sink | None = None

    def _exact(self, n: int) -> bytes:
        buf = self._read(n)
        while len(buf) < n:
            more = self._read(n - len(buf))
            if not more:
                raise StoreError("NAR stream ended early (truncated transfer?)")
            buf += more
        self.hasher.update(buf)
        self.size += n
        if self.on_data is not None:
            self.on_data(buf)
        return buf

    def _str(self, limit: int = 1 << 16) -> bytes:
        (n,) = _U64.unpack(self._exact(8))
        if n > limit:
            raise StoreError(f"NAR string of {n} bytes is too long here (corrupt NAR?)")
        data = self._exact(n + ((-n) % 8))
        return data[:n]

    def _expect(self, token: bytes) -> None:
        got = self._str()
        if got != token:
            raise StoreError(f"bad NAR: expected {token!r}, got {got[:40]!r}")

    def restore(self, dest: str) -> None:
        """Read a whole NAR and create it at `dest` (which must not exist), canonically."""
        self._expect(NAR_MAGIC)
        self._node(dest)

    def _node(self, dest: str) -> None:
        self._expect(b"(")
        self._expect(b"type")
        kind = self._str()
        if kind == b"regular":
            tag = self._str()
            executable = False
            if tag == b"executable":
                self._expect(b"")
                executable = True
                tag = self._str()
            if tag != b"contents":
                raise StoreError(f"bad NAR: expected 'contents', got {tag[:40]!r}")
            (size,) = _U64.unpack(self._exact(8))
            chunks = []
            remaining = size
            while remaining:
                data = self._exact(min(CHUNK, remaining))
                chunks.append(data)
                remaining -= len(data)
                if len(chunks) > 8:
                    break
            if remaining:  # big file: stream it instead of holding it in memory
                with open(dest, "wb") as out:
                    for c in chunks:
                        out.write(c)
                    while remaining:
                        data = self._exact(min(CHUNK, remaining))
                        out.write(data)
                        remaining -= len(data)
                _set_canonical(dest, executable)
            else:
                _write_file(dest, tuple(chunks), executable)
            self._exact((-size) % 8)
            self._expect(b")")
        elif kind == b"symlink":
            self._expect(b"target")
            target = self._str(1 << 16)
            os.symlink(target, dest)
            os.utime(dest, (1, 1), follow_symlinks=False)
            self._expect(b")")
        elif kind == b"directory":
            os.mkdir(dest, 0o755)
            prev = b""
            while True:
                tag = self._str()
                if tag == b")":
                    break
                if tag != b"entry":
                    raise StoreError(f"bad NAR: expected 'entry', got {tag[:40]!r}")
                self._expect(b"(")
                self._expect(b"name")
                name = self._str(255)
                if not name or name in (b".", b"..") or b"/" in name or b"\0" in name or name <= prev:
                    raise StoreError(f"bad NAR: invalid or unsorted entry name {name!r}")
                prev = name
                self._expect(b"node")
                self._node(os.path.join(dest, os.fsdecode(name)))
                self._expect(b")")
            _set_canonical(dest, True)
        else:
            raise StoreError(f"bad NAR: unknown node type {kind[:40]!r}")


def restore(stream: BinaryIO, dest: str) -> tuple[str, int]:
    reader = NarReader(stream)
    reader.restore(dest)
    return reader.hasher.hexdigest(), reader.size


def make_writable(path: str) -> None:
    """Give the owner write permission back so a store path (or a failed build) can be deleted."""
    if os.path.islink(path) or not os.path.exists(path):
        return
    if os.path.isdir(path):
        for root, dirs, _files in os.walk(path):
            os.chmod(root, 0o755)
            for d in dirs:
                p = os.path.join(root, d)
                if not os.path.islink(p):
                    os.chmod(p, 0o755)
    else:
        os.chmod(path, 0o644)


def remove_tree(path: str) -> None:
    import shutil

    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    elif os.path.isdir(path):
        make_writable(path)
        shutil.rmtree(path)


def canonicalise(path: str) -> None:
    """Set mtime 1 and modes 0444/0555 on a tree built in place (build outputs)."""
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        os.utime(path, (1, 1), follow_symlinks=False)
        return
    if stat.S_ISDIR(st.st_mode):
        for name in os.listdir(path):
            canonicalise(os.path.join(path, name))
        _set_canonical(path, True)
    elif stat.S_ISREG(st.st_mode):
        _set_canonical(path, bool(st.st_mode & 0o100))
    else:
        raise StoreError(f"{path}: unsupported file type in build output (sockets, fifos and devices are not allowed)")
