"""The declos store agent: the program declos runs on the far side of an SSH copy.

It is uploaded once into the target store (as a text store path) and reused. It needs
only the Python 3 standard library, because the target may have nothing but python3 and
sshd. It speaks the protocol in docs/copy-protocol.md: a query round trip, then NAR
streams verified against their narHash and registered one by one in the SQLite schema
of docs/store-db.md, so an interrupted copy keeps every path completed before it.
Keep this file self-contained: it must not import declos.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import stat
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import IO, Any

PROTOCOL = b"declos-copy-1"
# Same text as declos.store.schema.SCHEMA (this file cannot import it); a test keeps them equal.
SCHEMA = """
create table if not exists ValidPaths (
    id               integer primary key autoincrement not null,
    path             text unique not null,
    hash             text not null,
    registrationTime integer not null,
    deriver          text,
    narSize          integer,
    ultimate         integer,
    sigs             text,
    ca               text
);
create table if not exists Refs (
    referrer  integer not null,
    reference integer not null,
    primary key (referrer, reference),
    foreign key (referrer) references ValidPaths(id) on delete cascade,
    foreign key (reference) references ValidPaths(id) on delete restrict
);
create index if not exists IndexReferrer on Refs(referrer);
create index if not exists IndexReference on Refs(reference);
create trigger if not exists DeleteSelfRefs before delete on ValidPaths
  begin
    delete from Refs where referrer = old.id and reference = old.id;
  end;
create table if not exists DerivationOutputs (
    drv  integer not null,
    id   text not null,
    path text not null,
    primary key (drv, id),
    foreign key (drv) references ValidPaths(id) on delete cascade
);
create index if not exists IndexDerivationOutputs on DerivationOutputs(path);
"""
_U64 = struct.Struct("<Q")
_PAD = b"\0" * 8
CHUNK = 1 << 20


class AgentError(Exception):
    pass


def nstr(data: bytes) -> bytes:
    return _U64.pack(len(data)) + data + _PAD[: (-len(data)) % 8]


class Reader:
    """Framed reads from a byte stream through one big buffer.

    NAR tokens are tiny and numerous; slicing them out of a 1 MiB buffer and hashing the
    consumed region in bulk (not token by token) is what keeps the agent near disk speed.
    """

    def __init__(self, read: Callable[[int], bytes], initial: bytes = b"") -> None:
        self._read = read
        self.buf = initial
        self.pos = 0
        self.hasher: Any = None
        self._hpos = 0
        self._hstart = 0
        self.consumed = 0

    def _fill(self, n: int) -> None:
        if self.hasher is not None:
            self.hasher.update(memoryview(self.buf)[self._hpos : self.pos])
        parts = [self.buf[self.pos :]]
        have = len(parts[0])
        while have < n:
            data = self._read(max(CHUNK, n - have))
            if not data:
                raise AgentError("stream ended early (interrupted transfer)")
            parts.append(data)
            have += len(data)
        self.buf = b"".join(parts)
        self.pos = 0
        self._hpos = 0

    def exact(self, n: int) -> bytes:
        if self.pos + n > len(self.buf):
            self._fill(n)
        start = self.pos
        self.pos += n
        self.consumed += n
        return self.buf[start : self.pos]

    def start_hash(self) -> None:
        self.hasher = hashlib.sha256()
        self._hpos = self.pos
        self._hstart = self.consumed

    def finish_hash(self) -> tuple[str, int]:
        self.hasher.update(memoryview(self.buf)[self._hpos : self.pos])
        digest, size = self.hasher.hexdigest(), self.consumed - self._hstart
        self.hasher = None
        return digest, size

    def leftover(self) -> bytes:
        """Bytes read ahead but not consumed (handed on when the stream changes encoding)."""
        rest = self.buf[self.pos :]
        self.buf, self.pos = b"", 0
        return rest

    def u64(self) -> int:
        (value,) = _U64.unpack(self.exact(8))
        return int(value)

    def str(self, limit: int = 1 << 24) -> bytes:
        n = self.u64()
        if n > limit:
            raise AgentError(f"frame of {n} bytes is too long (corrupt stream?)")
        return self.exact(n + ((-n) % 8))[:n]

    def expect(self, token: bytes) -> None:
        got = self.str(1 << 16)
        if got != token:
            raise AgentError(f"bad NAR: expected {token!r}, got {got[:40]!r}")


def restore_nar(r: Reader, dest: str) -> None:
    r.expect(b"nix-archive-1")
    _node(r, dest)


def _canon(path: str, x: bool) -> None:
    os.chmod(path, 0o555 if x else 0o444)
    os.utime(path, (1, 1))


def _node(r: Reader, dest: str) -> None:
    r.expect(b"(")
    r.expect(b"type")
    kind = r.str(64)
    if kind == b"regular":
        tag = r.str(64)
        x = False
        if tag == b"executable":
            r.expect(b"")
            x = True
            tag = r.str(64)
        if tag != b"contents":
            raise AgentError("bad NAR: expected contents")
        size = r.u64()
        # Created read-only with its final mode and mtime set through the fd: 3 syscalls
        # per small file instead of 6, which matters for trees of many small files.
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o555 if x else 0o444)
        try:
            left = size
            while left:
                data = r.exact(min(CHUNK, left))
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                left -= len(data)
            os.utime(fd, (1, 1))
        finally:
            os.close(fd)
        r.exact((-size) % 8)
        r.expect(b")")
    elif kind == b"symlink":
        r.expect(b"target")
        os.symlink(r.str(1 << 16), dest)
        os.utime(dest, (1, 1), follow_symlinks=False)
        r.expect(b")")
    elif kind == b"directory":
        os.mkdir(dest, 0o755)
        prev = b""
        while True:
            tag = r.str(64)
            if tag == b")":
                break
            if tag != b"entry":
                raise AgentError("bad NAR: expected entry")
            r.expect(b"(")
            r.expect(b"name")
            name = r.str(255)
            if not name or name in (b".", b"..") or b"/" in name or b"\0" in name or name <= prev:
                raise AgentError(f"bad NAR: invalid entry name {name!r}")
            prev = name
            r.expect(b"node")
            _node(r, os.path.join(dest, os.fsdecode(name)))
            r.expect(b")")
        _canon(dest, True)
    else:
        raise AgentError(f"bad NAR: node type {kind!r}")


def dump_nar(path: str, write: Callable[[bytes], object]) -> None:
    write(nstr(b"nix-archive-1"))
    _dump(path, write)


def _dump(path: str, write: Callable[[bytes], object]) -> None:
    st = os.lstat(path)
    if stat.S_ISREG(st.st_mode):
        hdr = nstr(b"(") + nstr(b"type") + nstr(b"regular")
        if st.st_mode & 0o100:
            hdr += nstr(b"executable") + nstr(b"")
        write(hdr + nstr(b"contents") + _U64.pack(st.st_size))
        with open(path, "rb") as f:
            while True:
                data = f.read(CHUNK)
                if not data:
                    break
                write(data)
        write(_PAD[: (-st.st_size) % 8] + nstr(b")"))
    elif stat.S_ISLNK(st.st_mode):
        write(
            nstr(b"(")
            + nstr(b"type")
            + nstr(b"symlink")
            + nstr(b"target")
            + nstr(os.fsencode(os.readlink(path)))
            + nstr(b")")
        )
    else:
        write(nstr(b"(") + nstr(b"type") + nstr(b"directory"))
        for name in sorted(os.listdir(os.fsencode(path))):
            write(nstr(b"entry") + nstr(b"(") + nstr(b"name") + nstr(name) + nstr(b"node"))
            _dump(os.path.join(path, os.fsdecode(name)), write)
            write(nstr(b")"))
        write(nstr(b")"))


def _remove(path: str) -> None:
    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    elif os.path.isdir(path):
        for root, dirs, _files in os.walk(path):
            os.chmod(root, 0o755)
            for d in dirs:
                p = os.path.join(root, d)
                if not os.path.islink(p):
                    os.chmod(p, 0o755)
        shutil.rmtree(path)


class TargetStore:
    """The minimal store operations the agent needs, on the same on-disk layout as declos."""

    def __init__(self, store_dir: str, state_dir: str, root: str | None) -> None:
        self.store_dir = store_dir
        self.phys_store = (root or "") + store_dir
        self.phys_state = (root or "") + state_dir
        for d in (
            self.phys_store,
            self.phys_state + "/db",
            self.phys_state + "/locks",
            self.phys_state + "/gcroots",
            self.phys_state + "/profiles",
        ):
            os.makedirs(d, exist_ok=True)
        self.db = sqlite3.connect(
            self.phys_state + "/db/db.sqlite", timeout=60, isolation_level=None
        )
        self.db.execute("pragma journal_mode = wal")
        self.db.execute("pragma synchronous = normal")
        self.db.execute("pragma foreign_keys = on")
        self.db.executescript(SCHEMA)

    def valid(self, paths: list[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(paths), 500):
            batch = paths[i : i + 500]
            q = "select path from ValidPaths where path in (" + ",".join("?" * len(batch)) + ")"
            found.update(row[0] for row in self.db.execute(q, batch))
        return found

    def info(self, path: str) -> dict[str, Any] | None:
        row = self.db.execute(
            "select id, hash, registrationTime, deriver, narSize, sigs, ca from ValidPaths where path = ?",
            (path,),
        ).fetchone()
        if row is None:
            return None
        refs = [
            r[0]
            for r in self.db.execute(
                "select path from Refs join ValidPaths on reference = id where referrer = ?",
                (row[0],),
            )
        ]
        return {
            "path": path,
            "narHash": row[1],
            "registrationTime": row[2],
            "deriver": row[3],
            "narSize": row[4],
            "signatures": (row[5] or "").split(),
            "ca": row[6],
            "references": sorted(refs),
        }

    def cleanup(self) -> None:
        for name in os.listdir(self.phys_store):
            if name.startswith(".tmp-"):
                try:
                    pid = int(name[5:].split("-", 1)[0])
                    os.kill(pid, 0)
                except (ValueError, ProcessLookupError):
                    _remove(os.path.join(self.phys_store, name))
                except PermissionError:
                    pass

    def lock(self, path: str) -> int:
        import fcntl

        fd = os.open(
            self.phys_state + "/locks/" + os.path.basename(path)[:32] + ".lock",
            os.O_RDWR | os.O_CREAT,
            0o600,
        )
        fcntl.flock(fd, fcntl.LOCK_EX)
        return fd

    def import_one(self, info: dict[str, Any], r: Reader) -> bool:
        """Restore one NAR to a temp dir, verify, rename into place, register."""
        path = info["path"]
        if not path.startswith(self.store_dir + "/") or "/" in path[len(self.store_dir) + 1 :]:
            raise AgentError(f"refusing path outside the store: {path!r}")
        tmp = f"{self.phys_store}/.tmp-{os.getpid()}-{os.urandom(6).hex()}"
        os.mkdir(tmp, 0o700)
        try:
            item = tmp + "/item"
            r.start_hash()
            restore_nar(r, item)
            digest, size = r.finish_hash()
            got = "sha256:" + digest
            if got != info["narHash"] or size != info["narSize"]:
                raise AgentError(f"hash mismatch for {path}: expected {info['narHash']}, got {got}")
            fd = self.lock(path)
            try:
                if self.valid([path]):
                    return False
                dest = self.phys_store + path[len(self.store_dir) :]
                if os.path.lexists(dest):
                    _remove(dest)
                os.rename(item, dest)
                self.register(info)
            finally:
                os.close(fd)
            return True
        finally:
            if os.path.exists(tmp):
                _remove(tmp)

    def register(self, info: dict[str, Any]) -> None:
        db = self.db
        db.execute("begin immediate")
        try:
            db.execute(
                "insert or replace into ValidPaths (path, hash, registrationTime, deriver, narSize, sigs, ca) values (?,?,?,?,?,?,?)",
                (
                    info["path"],
                    info["narHash"],
                    info.get("registrationTime") or int(time.time()),
                    info.get("deriver"),
                    info["narSize"],
                    " ".join(info.get("signatures") or []) or None,
                    info.get("ca"),
                ),
            )
            (pid,) = db.execute(
                "select id from ValidPaths where path = ?", (info["path"],)
            ).fetchone()
            for ref in set(info.get("references") or []):
                row = db.execute("select id from ValidPaths where path = ?", (ref,)).fetchone()
                if row is None:
                    raise AgentError(
                        f"reference {ref} of {info['path']} is not valid on the target"
                    )
                db.execute(
                    "insert or ignore into Refs (referrer, reference) values (?, ?)", (pid, row[0])
                )
            db.execute("commit")
        except BaseException:
            db.execute("rollback")
            raise

    def closure(self, paths: list[str]) -> list[dict[str, Any]]:
        done: set[str] = set()
        todo = list(paths)
        infos: dict[str, dict[str, Any]] = {}
        while todo:
            p = todo.pop()
            if p in done:
                continue
            done.add(p)
            info = self.info(p)
            if info is None:
                raise AgentError(f"path {p} is not valid on the remote store")
            infos[p] = info
            todo.extend(info["references"])
        order: list[dict[str, Any]] = []
        state: dict[str, int] = {}

        def visit(p: str) -> None:
            if state.get(p):
                return
            state[p] = 1
            for ref in infos[p]["references"]:
                if ref != p:
                    visit(ref)
            order.append(infos[p])

        for p in sorted(infos):
            visit(p)
        return order


def _zstd_decompress_reader(
    raw_read: Callable[[int], bytes], leftover: bytes
) -> Callable[[int], bytes]:
    proc = subprocess.Popen(["zstd", "-dcq"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    stdin, stdout = proc.stdin, proc.stdout
    if stdin is None or stdout is None:
        raise AgentError("zstd started without pipes")

    def feed() -> None:
        try:
            stdin.write(leftover)
            while True:
                data = raw_read(CHUNK)
                if not data:
                    break
                stdin.write(data)
        except (BrokenPipeError, OSError):
            pass
        finally:
            try:
                stdin.close()
            except OSError:
                pass

    threading.Thread(target=feed, daemon=True).start()
    fd = stdout.fileno()
    return lambda n: os.read(fd, n)


class Prefetch:
    """Reads the input in a thread into a bounded queue of blocks.

    While the main thread waits in the kernel creating files (on a busy disk that is most
    of a copy), sshd keeps draining the socket into this queue instead of stalling the
    sender after a 64 KiB pipe buffer; the queue bounds memory to DEPTH blocks.
    """

    DEPTH = 64

    def __init__(self, read: Callable[[int], bytes]) -> None:
        import queue

        self._raw = read
        self._q: queue.Queue[bytes] = queue.Queue(self.DEPTH)
        self._eof = False
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        try:
            while True:
                data = self._raw(CHUNK)
                self._q.put(data)
                if not data:
                    return
        except (OSError, ValueError):
            self._q.put(b"")

    def read(self, n: int = CHUNK) -> bytes:
        """The next block (of any size up to CHUNK); b"" at end of input."""
        if self._eof:
            return b""
        data = self._q.get()
        if not data:
            self._eof = True
        return data


def serve(store: TargetStore, inp: IO[bytes], out: IO[bytes]) -> int:
    """One session: handshake+query, then an optional import or export."""
    pre = Prefetch(inp.read1 if hasattr(inp, "read1") else inp.read)
    r = Reader(pre.read)

    def send(obj: dict[str, Any]) -> None:
        out.write(nstr(json.dumps(obj).encode()))
        out.flush()

    if r.str(64) != PROTOCOL:
        raise AgentError("protocol mismatch")
    query = json.loads(r.str())
    store.cleanup()
    reply = {"protocol": PROTOCOL.decode(), "zstd": shutil.which("zstd") is not None}
    if query.get("op") == "query-valid":
        reply["valid"] = sorted(store.valid(query["paths"]))
    elif query.get("op") == "query-closure":
        reply["infos"] = store.closure(query["paths"])
    out.write(nstr(PROTOCOL))
    send(reply)
    try:
        head = r.str()
    except AgentError:
        return 0
    if not head:
        return 0
    cmd = json.loads(head)
    if cmd.get("op") == "import":
        if cmd.get("compress") == "zstd":
            r = Reader(_zstd_decompress_reader(pre.read, r.leftover()))
        imported = 0
        while r.u64() == 1:
            info = json.loads(r.str())
            if store.import_one(info, r):
                imported += 1
            send({"done": info["path"]})
        send({"result": "ok", "imported": imported})
    elif cmd.get("op") == "export":
        for p in cmd["paths"]:
            info = store.info(p)
            out.write(_U64.pack(1) + nstr(json.dumps(info).encode()))
            dump_nar(store.phys_store + p[len(store.store_dir) :], out.write)
        out.write(_U64.pack(0))
        out.flush()
    return 0


def install(source: bytes, argv: list[str]) -> int:
    """Put this program into the target store as the text path the client computed."""
    opts = _parse(argv)
    store = TargetStore(opts["store-dir"], opts["state-dir"], opts.get("root"))
    path = opts["path"]
    if store.valid([path]):
        return 0
    tmp = f"{store.phys_store}/.tmp-{os.getpid()}-{os.urandom(6).hex()}"
    os.mkdir(tmp, 0o700)
    try:
        item = tmp + "/item"
        with open(item, "wb") as f:
            f.write(source)
        _canon(item, False)
        h = hashlib.sha256()
        dump_nar(item, h.update)
        nar_size = 0
        counter = []
        dump_nar(item, lambda b: counter.append(len(b)))
        nar_size = sum(counter)
        dest = store.phys_store + path[len(store.store_dir) :]
        if os.path.lexists(dest):
            _remove(dest)
        os.rename(item, dest)
        store.register(
            {
                "path": path,
                "narHash": "sha256:" + h.hexdigest(),
                "narSize": nar_size,
                "references": [],
                "ca": "text:sha256:" + opts["nix32"],
            }
        )
    finally:
        if os.path.exists(tmp):
            _remove(tmp)
    return 0


def _parse(argv: list[str]) -> dict[str, str]:
    opts = {}
    for a in argv:
        k, _, v = a.partition("=")
        opts[k.lstrip("-")] = v
    return opts


def main(argv: list[str]) -> int:
    if not argv or argv[0] != "serve":
        sys.stderr.write("usage: receiver.py serve --store-dir=D --state-dir=D [--root=R]\n")
        return 2
    opts = _parse(argv[1:])
    store = TargetStore(opts["store-dir"], opts["state-dir"], opts.get("root") or None)
    try:
        return serve(store, sys.stdin.buffer, sys.stdout.buffer)
    except AgentError as exc:
        sys.stderr.write(f"declos receiver: {exc}\n")
        return 1


def _serve_and_exit(argv: list[str]) -> None:
    """Run main() and leave without interpreter finalization.

    The Prefetch thread may still sit in a read of stdin, holding the buffered reader's
    lock, when the session ends; a normal shutdown then aborts with "Fatal Python error:
    _enter_buffered_busy" and a non-zero status, which the client reports as a failed copy
    although every path was registered. Every database write is committed by then.
    """
    try:
        rc = main(argv)
    except BaseException:
        import traceback

        traceback.print_exc()
        rc = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:
            rc = rc or 1
    os._exit(rc)


if __name__ == "__main__":
    _serve_and_exit(sys.argv[1:])
elif __name__ == "__declos_install__":
    sys.exit(install(globals()["SOURCE"], sys.argv[1:]))  # SOURCE: injected by the installer
