"""NAR (Nix ARchive) serialisation, byte-identical to `nix-store --dump` (src/libutil/archive.cc).

The NAR is what store path hashes are computed over, what `copy` streams and what `verify`
re-hashes, so the writer also copies a tree while it serialises it (one read per file) and
the reader restores straight to disk with canonical metadata.
"""

from __future__ import annotations

import errno
import hashlib
import operator
import os
import stat
import struct
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from declos.store.errors import StoreError

NAR_MAGIC = b"nix-archive-1"
CHUNK = 1 << 20
SMALL = 1 << 18
FLUSH = 1 << 20
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
# Padding after file contents of length % 8 == i, then the file's and its entry's ")".
_TRAILERS = [_PAD[: (-i) % 8] + _T_CLOSE + _T_CLOSE for i in range(8)]

Sink = Callable[[bytes], object]
_BY_NAME = operator.attrgetter("name")  # NAR entries are sorted by their byte names
# Output buffers of finished dumps, reused so that hashing many small paths does not
# allocate (and page-fault in) a fresh 1.25 MiB buffer each time. list.pop/append are atomic.
_BUFFERS: list[bytearray] = []


def _set_canonical(path: str | bytes, executable_or_dir: bool) -> None:
    os.chmod(path, 0o555 if executable_or_dir else 0o444)
    os.utime(path, (1, 1))


def dump(path: str | Path, sink: Sink, copy_to: str | None = None) -> None:
    """Serialise `path` into `sink`; with `copy_to`, also recreate it there canonically.

    Copying while dumping reads each file once, which is what makes `add_path` as fast as
    `nix-store --add` on big trees. The sink gets ~1 MiB pieces (tokens and small files
    coalesced, big files passed through), so a hash or a socket sees few large calls.
    """
    _NarWriter(sink, None).run(path, copy_to)


def dump_to_fd(path: str | Path, fd: int) -> None:
    """Write the NAR of `path` to file descriptor `fd` (`declos store dump`).

    Big files go from the page cache to `fd` with sendfile(2), without passing through
    Python; everything else is written in ~1 MiB blocks.
    """
    _NarWriter(None, fd).run(path, None)


class _NarWriter:
    """One tree walk producing NAR bytes; per-file work is kept to the syscalls Nix makes too
    (lstat, open, read, close), because at 20,000 files the Python overhead per file is
    what separates us from `nix-store --dump`.

    Output goes through one preallocated buffer that small files are read straight into
    (readv): no allocation per file and no growing buffer, whose realloc/free cycles cost
    ~40,000 page faults per 200 MiB.
    """

    def __init__(self, sink: Sink | None, fd: int | None) -> None:
        self.sink = sink
        self.fd = fd
        self.out = _BUFFERS.pop() if _BUFFERS else bytearray(FLUSH + SMALL + 4096)
        self.mv = memoryview(self.out)
        self.pos = 0

    def run(self, path: str | Path, copy_to: str | None) -> None:
        try:
            self._put(_T_HEADER)
            p = os.fsencode(os.fspath(path))
            st = os.lstat(p)
            dest = None if copy_to is None else os.fsencode(copy_to)
            if stat.S_ISDIR(st.st_mode):
                self._dir(p, dest)
            else:
                self._leaf(p, st, dest)
            self.flush()
        finally:
            self.mv.release()
            _BUFFERS.append(self.out)

    def flush(self) -> None:
        if not self.pos:
            return
        if self.fd is None:
            self.sink(bytes(self.mv[: self.pos]))  # type: ignore[misc]
        else:
            _write_all(self.fd, self.mv[: self.pos])
        self.pos = 0

    def _put(self, data: bytes) -> None:
        if self.pos + len(data) > FLUSH:
            self.flush()
            if len(data) > FLUSH:
                self.sink(data) if self.fd is None else _write_all(self.fd, data)  # type: ignore[misc]
                return
        end = self.pos + len(data)
        self.out[self.pos : end] = data
        self.pos = end

    def _leaf(self, path: bytes, st: os.stat_result, dest: bytes | None) -> None:
        mode = st.st_mode
        if stat.S_ISREG(mode):
            self._file(path, st.st_size, bool(mode & 0o100), dest)
        elif stat.S_ISLNK(mode):
            target = os.readlink(path)
            self._put(_T_SYMLINK + nstr(target) + _T_CLOSE)
            if dest is not None:
                os.symlink(target, dest)
                os.utime(dest, (1, 1), follow_symlinks=False)
        elif stat.S_ISDIR(mode):
            self._dir(path, dest)
        else:
            raise StoreError(
                f"{os.fsdecode(path)}: unsupported file type (only files, directories and symlinks go in the store)"
            )

    def _dir(self, path: bytes, dest: bytes | None) -> None:
        self._put(_T_DIR)
        if dest is not None:
            os.mkdir(dest, 0o755)
        with os.scandir(path) as it:
            entries = sorted(it, key=_BY_NAME)
        out, mv = self.out, self.mv
        inline = dest is None
        for e in entries:
            if self.pos >= FLUSH:
                self.flush()
            # From here on at most SMALL + 1024 bytes are added before the next check.
            name = e.name
            n = len(name)
            tok = _T_ENTRY + _U64.pack(n) + name + _PAD[: (-n) % 8] + _T_NODE
            end = self.pos + len(tok)
            out[self.pos : end] = tok
            self.pos = end
            if e.is_dir(follow_symlinks=False):
                self._dir(e.path, None if dest is None else dest + b"/" + name)
                self._put(_T_CLOSE)
                continue
            st = e.stat(follow_symlinks=False)
            size = st.st_size
            if inline and size <= SMALL and stat.S_ISREG(st.st_mode):
                # Inlined small-file case (most entries): header, contents read into place, trailer.
                hdr = (_H_EXEC if st.st_mode & 0o100 else _H_REGULAR) + _U64.pack(size)
                start = end + len(hdr)
                out[end:start] = hdr
                fd = os.open(e.path, os.O_RDONLY)
                try:
                    got = os.readv(fd, [mv[start : start + size + 1]])
                finally:
                    os.close(fd)
                if got != size:
                    raise StoreError(
                        f"{os.fsdecode(e.path)}: file changed size while it was being read"
                    )
                trailer = _TRAILERS[size & 7]
                end = start + size + len(trailer)
                out[start + size : end] = trailer
                self.pos = end
            else:
                self._leaf(e.path, st, None if dest is None else dest + b"/" + name)
                self._put(_T_CLOSE)
        self._put(_T_CLOSE)
        if dest is not None:
            _set_canonical(dest, True)

    def _file(self, path: bytes, size: int, executable: bool, dest: bytes | None) -> None:
        self._put((_H_EXEC if executable else _H_REGULAR) + _U64.pack(size))
        fd = os.open(path, os.O_RDONLY)
        try:
            if size <= SMALL:
                if self.pos + size + 1 > FLUSH:
                    self.flush()
                start = self.pos
                if os.readv(fd, [self.mv[start : start + size + 1]]) != size:
                    raise StoreError(
                        f"{os.fsdecode(path)}: file changed size while it was being read"
                    )
                self.pos = start + size
                if dest is not None:
                    _write_file(dest, (self.mv[start : start + size],), executable)
            else:
                self.flush()
                if self.fd is not None and dest is None and self._sendfile(fd, path, size):
                    pass
                else:
                    self._stream(fd, path, size, executable, dest)
        finally:
            os.close(fd)
        self._put(_PAD[: (-size) % 8] + _T_CLOSE)

    def _sendfile(self, fd: int, path: bytes, size: int) -> bool:
        """Copy in the kernel; False when `self.fd` does not take sendfile (O_APPEND, some ttys)."""
        offset = 0
        while offset < size:
            try:
                n = os.sendfile(self.fd, fd, offset, size - offset)  # type: ignore[arg-type]
            except OSError as exc:
                if offset == 0 and exc.errno in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
                    return False
                raise
            if n == 0:
                raise StoreError(f"{os.fsdecode(path)}: file shrank while it was being read")
            offset += n
        if os.pread(fd, 1, size):
            raise StoreError(f"{os.fsdecode(path)}: file grew while it was being read")
        return True

    def _stream(
        self, fd: int, path: bytes, size: int, executable: bool, dest: bytes | None
    ) -> None:
        out = (
            None
            if dest is None
            else os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o555 if executable else 0o444)
        )
        try:
            remaining = size
            while remaining > 0:
                data = os.read(fd, min(CHUNK, remaining))
                if not data:
                    raise StoreError(f"{os.fsdecode(path)}: file shrank while it was being read")
                remaining -= len(data)
                if self.fd is None:
                    self.sink(data)  # type: ignore[misc]
                else:
                    _write_all(self.fd, data)
                if out is not None:
                    _write_all(out, data)
            if os.read(fd, 1):
                raise StoreError(f"{os.fsdecode(path)}: file grew while it was being read")
            if out is not None:
                os.utime(out, (1, 1))
        finally:
            if out is not None:
                os.close(out)


def _write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _write_file(
    dest: str | bytes, chunks: tuple[bytes | memoryview, ...], executable: bool
) -> None:
    """Create `dest` read-only with canonical mode and mtime, set through the open fd."""
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o555 if executable else 0o444)
    try:
        for c in chunks:
            view = memoryview(c)
            while view:
                view = view[os.write(fd, view) :]
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
                if (
                    not name
                    or name in (b".", b"..")
                    or b"/" in name
                    or b"\0" in name
                    or name <= prev
                ):
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
        raise StoreError(
            f"{path}: unsupported file type in build output (sockets, fifos and devices are not allowed)"
        )
