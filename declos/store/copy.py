"""The closure copy protocol (docs/copy-protocol.md), client side, without connection code.

The host layer (declos.hosts) starts commands on a host and hands this module a `Channel`:
a byte stream to the command's stdin and from its stdout. Over one such channel the
query for the whole closure is one round trip, then the missing NARs stream in
dependency order; the agent (receiver.py, uploaded into the target store on first use)
acknowledges each registered path, so progress is exact and an interrupted copy
resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import shutil
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from declos.store.db import PathInfo
from declos.store.errors import StoreError
from declos.store.nar import nstr
from declos.store.paths import make_text_path, nix32_encode

if TYPE_CHECKING:
    from declos.store.store import Store

PROTOCOL = b"declos-copy-1"
RECEIVER_NAME = "declos-receiver.py"
NEED_RECEIVER = b"DECLOS-NEED-RECEIVER"
_U64 = struct.Struct("<Q")
_RECEIVER_SRC = Path(__file__).with_name("receiver.py")
# Starts the agent if it is in the target store, else says so (one exec, no round trip).
_START = 'test -e "$1" || { echo DECLOS-NEED-RECEIVER; exit 0; }; shift; exec "$@"'
_BOOT = (
    "import sys; s = sys.stdin.buffer.read(); "
    "exec(compile(s, 'declos-receiver', 'exec'), {'__name__': '__declos_install__', 'SOURCE': s})"
)


class CopyError(StoreError):
    """A copy failed or was interrupted; every path acknowledged before stays valid."""


class Channel(Protocol):
    """A running command on the target: its stdin, stdout, stderr and exit status."""

    def sendall(self, data: bytes) -> None: ...

    def recv(self, size: int) -> bytes:
        """Up to `size` bytes of stdout; b"" at its end."""
        ...

    def shutdown_write(self) -> None:
        """End of stdin."""
        ...

    def wait(self, timeout: float) -> int | None:
        """The exit status, or None if the command still runs after `timeout` seconds."""
        ...

    def stderr_text(self) -> str:
        """What the command wrote to stderr so far."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Remote:
    """Where the copy goes: how to start a command there, and where its store lives.

    `root` is the physical root of the target's store (a chroot store); `python` the
    interpreter that runs the agent; `label` names the target in messages."""

    open: Callable[[Sequence[str]], Channel]
    label: str
    root: str | None = None
    python: str = "python3"


@dataclass
class CopyStats:
    """What a copy did: `sent` in the order sent; `round_trips` counts query exchanges."""

    closure: list[str] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)
    already_present: int = 0
    nar_bytes: int = 0
    wire_bytes: int = 0
    seconds: float = 0.0
    round_trips: int = 0
    receiver_uploaded: bool = False


Progress = Callable[[str, int, int], None]


def receiver_source() -> bytes:
    return _RECEIVER_SRC.read_bytes()


class Session:
    """One channel to the agent (uploading it first when the target lacks it)."""

    def __init__(self, store: Store, remote: Remote) -> None:
        self.store = store
        self.remote = remote
        self.receiver_path = make_text_path(RECEIVER_NAME, receiver_source(), (), store.store_dir)
        self.uploaded = False
        self._chan: Channel | None = None
        self._rbuf = b""

    @property
    def chan(self) -> Channel:
        if self._chan is None:
            raise CopyError(f"no session with the declos receiver on {self.remote.label}")
        return self._chan

    def _args(self) -> list[str]:
        args = [f"--store-dir={self.store.store_dir}", f"--state-dir={self.store.state_dir}"]
        if self.remote.root:
            args.append(f"--root={self.remote.root}")
        return args

    def upload_receiver(self) -> None:
        src = receiver_source()
        nix32 = nix32_encode(hashlib.sha256(src).digest())
        args = [*self._args(), f"--path={self.receiver_path}", f"--nix32={nix32}"]
        chan = self.remote.open([self.remote.python, "-c", _BOOT, *args])
        try:
            chan.sendall(src)
            chan.shutdown_write()
            while chan.recv(1 << 16):
                pass
            rc = chan.wait(60.0)
            if rc != 0:
                raise CopyError(
                    f"installing the declos receiver on {self.remote.label} failed "
                    f"({'no exit status' if rc is None else f'exit {rc}'}): {chan.stderr_text().strip()}"
                )
        finally:
            chan.close()
        self.uploaded = True

    def open(self, query: dict[str, Any]) -> dict[str, Any]:
        """Start the agent, send the query, return its reply: the one round trip."""
        phys = (self.remote.root or "") + self.receiver_path
        for _attempt in range(2):
            argv = ["sh", "-c", _START, "sh", phys, self.remote.python, phys, "serve"]
            self._chan = self.remote.open([*argv, *self._args()])
            self._rbuf = b""
            try:
                self.chan.sendall(nstr(PROTOCOL) + nstr(json.dumps(query).encode()))
            except OSError:
                pass  # the command may already have exited to ask for the agent: read why
            first = self._read_exact(8)
            if first == NEED_RECEIVER[:8]:
                self.chan.close()
                self.upload_receiver()
                continue
            self._rbuf = first + self._rbuf
            if self.read_str() != PROTOCOL:
                raise CopyError(
                    f"the declos receiver on {self.remote.label} speaks another protocol version"
                )
            reply: dict[str, Any] = json.loads(self.read_str())
            return reply
        raise CopyError(f"the declos receiver could not be started on {self.remote.label}")

    def read_exact(self, n: int) -> bytes:
        return self._read_exact(n)

    def _read_exact(self, n: int) -> bytes:
        while len(self._rbuf) < n:
            data = self.chan.recv(1 << 20)
            if not data:
                raise CopyError(
                    f"connection to the declos receiver on {self.remote.label} closed: "
                    f"{self.chan.stderr_text().strip()}"
                )
            self._rbuf += data
        out, self._rbuf = self._rbuf[:n], self._rbuf[n:]
        return out

    def read_str(self) -> bytes:
        (n,) = _U64.unpack(self._read_exact(8))
        return self._read_exact(n + ((-n) % 8))[:n]

    def read_json(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.read_str())
        return value


class _ZstdPipe:
    """Compress a byte stream with the zstd binary in a separate process (uses the 2nd core)."""

    def __init__(self, send: Callable[[bytes], object]) -> None:
        self.proc = subprocess.Popen(
            ["zstd", "-c", "-q", "-1", "-T0"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        self.bytes_out = 0
        stdout = self.proc.stdout
        if stdout is None:
            raise CopyError("zstd started without an output pipe")
        fd = stdout.fileno()

        def pump() -> None:
            while True:
                data = os.read(fd, 1 << 20)
                if not data:
                    break
                self.bytes_out += len(data)
                send(data)

        self.thread = threading.Thread(target=pump, daemon=True)
        self.thread.start()

    def write(self, data: bytes) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.write(data)

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.thread.join()
        self.proc.wait()

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()


class _Sender:
    """Sends on the channel from a second thread so reading/serialising files overlaps
    with encryption and socket writes (both release the GIL for large buffers)."""

    def __init__(self, send: Callable[[bytes], object], depth: int = 8) -> None:
        self._send = send
        self._q: queue.Queue[bytes | None] = queue.Queue(depth)
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            data = self._q.get()
            if data is None:
                return
            if self.error is None:
                try:
                    self._send(data)
                except BaseException as exc:  # handed to the producing thread by put/close
                    self.error = exc

    def put(self, data: bytes) -> None:
        if self.error is not None:
            raise self.error
        self._q.put(data)

    def close(self) -> None:
        self._q.put(None)
        self._thread.join()
        if self.error is not None:
            raise self.error

    def abort(self) -> None:
        """Stop after sending what was already queued (it left the caller's hands)."""
        self._q.put(None)
        self._thread.join(timeout=30)


class _Batcher:
    """Coalesces small writes into ~1 MiB sends (one channel call per many small files)."""

    def __init__(self, send: Callable[[bytes], object], size: int = 1 << 20) -> None:
        self.send = send
        self.size = size
        self.parts: list[bytes] = []
        self.n = 0
        self.total = 0

    def __call__(self, data: bytes) -> None:
        self.parts.append(data)
        self.n += len(data)
        if self.n >= self.size:
            self.flush()

    def flush(self) -> None:
        if self.parts:
            data = b"".join(self.parts)
            self.parts.clear()
            self.n = 0
            self.total += len(data)
            self.send(data)


def push_closure(
    store: Store,
    paths: Sequence[str],
    remote: Remote,
    *,
    compress: bool = False,
    progress: Progress | None = None,
    on_missing: Callable[[int], None] | None = None,
) -> CopyStats:
    """Copy the closure of `paths` to `remote`; only paths it lacks are sent.

    `on_missing(n)` is called once, after the query, with the number of paths to send;
    `progress(path, n, total)` after the target registered each of them."""
    t0 = time.monotonic()
    closure = store.closure(paths)
    result = CopyStats(closure=closure)
    session = Session(store, remote)
    reply = session.open({"op": "query-valid", "paths": closure})
    result.round_trips += 1
    result.receiver_uploaded = session.uploaded
    chan = session.chan
    try:
        valid = set(reply["valid"])
        missing = [p for p in closure if p not in valid]
        result.already_present = len(closure) - len(missing)
        if on_missing is not None:
            on_missing(len(missing))
        if not missing:
            chan.sendall(nstr(b""))
            chan.shutdown_write()
            chan.wait(60.0)
        else:
            use_zstd = bool(compress and reply.get("zstd") and shutil.which("zstd"))
            _stream(store, session, missing, use_zstd, result, progress)
        result.seconds = time.monotonic() - t0
        return result
    finally:
        chan.close()


def _stream(
    store: Store,
    session: Session,
    missing: list[str],
    use_zstd: bool,
    result: CopyStats,
    progress: Progress | None,
) -> None:
    """Send the missing paths as one export stream; read the acknowledgements beside it."""
    chan = session.chan
    label = session.remote.label
    chan.sendall(
        nstr(json.dumps({"op": "import", "compress": "zstd" if use_zstd else None}).encode())
    )
    sender = _Sender(chan.sendall)
    batch = _Batcher(sender.put)
    zpipe = _ZstdPipe(sender.put) if use_zstd else None
    out = batch if zpipe is None else zpipe.write
    acks: list[str] = []
    ack_error: list[BaseException] = []
    total = len(missing)

    def read_acks() -> None:
        try:
            while True:
                msg = session.read_json()
                if "done" not in msg:
                    return
                acks.append(msg["done"])
                if progress:
                    progress(msg["done"], len(acks), total)
        except BaseException as exc:  # handed to the main thread below
            ack_error.append(exc)
            if not isinstance(exc, StoreError):
                _settle(chan)  # the progress callback aborted the copy

    reader = threading.Thread(target=read_acks, daemon=True)
    reader.start()
    sent_bytes = 0
    try:
        for p in missing:
            if ack_error:
                break
            info = store.path_info(p)
            out(_U64.pack(1) + nstr(json.dumps(info.to_json()).encode()))
            store.dump(p, out)
            sent_bytes += info.nar_size
        if not ack_error:
            out(_U64.pack(0))
            if zpipe is not None:
                zpipe.close()
            else:
                batch.flush()
            sender.close()
            chan.shutdown_write()
    except BaseException as exc:
        sender.abort()
        if zpipe is not None:
            zpipe.kill()
        # Interrupted (Ctrl-C, broken connection): end the stream so the receiver
        # discards the partial path and exits; everything complete stays valid.
        _settle(chan)
        reader.join()
        if isinstance(exc, OSError | EOFError):
            raise CopyError(
                f"copy to {label} interrupted after {len(acks)} of {total} paths: {exc}"
            ) from exc
        raise
    reader.join()
    if ack_error:
        _settle(chan)
        if not isinstance(ack_error[0], StoreError):
            raise ack_error[0]
    rc = chan.wait(0.0 if ack_error else 60.0)
    if ack_error or rc != 0 or len(acks) != total:
        detail = chan.stderr_text().strip() or (str(ack_error[0]) if ack_error else f"exit {rc}")
        raise CopyError(f"copy to {label} failed after {len(acks)} of {total} paths: {detail}")
    result.sent = acks
    result.nar_bytes = sent_bytes
    result.wire_bytes = zpipe.bytes_out if zpipe is not None else batch.total


def pull_closure(
    store: Store,
    paths: Sequence[str],
    remote: Remote,
    *,
    progress: Progress | None = None,
) -> CopyStats:
    """Fetch the closure of `paths` from `remote`'s store into `store`."""
    t0 = time.monotonic()
    session = Session(store, remote)
    reply = session.open({"op": "query-closure", "paths": list(paths)})
    chan = session.chan
    try:
        infos = [PathInfo.from_json(i) for i in reply["infos"]]
        result = CopyStats(
            closure=[i.path for i in infos], round_trips=1, receiver_uploaded=session.uploaded
        )
        valid = store.valid_subset(result.closure)
        missing = [i for i in infos if i.path not in valid]
        result.already_present = len(infos) - len(missing)
        chan.sendall(
            nstr(json.dumps({"op": "export", "paths": [i.path for i in missing]}).encode())
        )
        chan.shutdown_write()
        for n, want in enumerate(missing, 1):
            (tag,) = _U64.unpack(session.read_exact(8))
            info = PathInfo.from_json(json.loads(session.read_str()))
            if tag != 1 or info.path != want.path:
                raise CopyError(f"unexpected path from {remote.label}: {info.path}")
            store.add_nar(info, session.read_exact)
            result.sent.append(info.path)
            result.nar_bytes += info.nar_size
            if progress:
                progress(info.path, n, len(missing))
        session.read_exact(8)
        result.seconds = time.monotonic() - t0
        return result
    finally:
        chan.close()


def _settle(chan: Channel, timeout: float = 10.0) -> None:
    """Send EOF and give the receiver a moment to drop its partial path and exit."""
    try:
        chan.shutdown_write()
        chan.wait(timeout)
    except (OSError, EOFError):
        pass
    finally:
        chan.close()
