"""Copying closures between stores over SSH (paramiko), with the uploaded agent on the far side.

One exec channel per copy: the query for the whole closure is one round trip, then the
missing NARs stream in dependency order; the agent acknowledges each registered path so
progress is exact and an interrupted copy resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import struct
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlparse

from declos.store.db import PathInfo
from declos.store.errors import StoreError
from declos.store.nar import nstr
from declos.store.paths import make_text_path, nix32_encode

if TYPE_CHECKING:
    from declos.store.store import Store

PROTOCOL = b"declos-copy-1"
RECEIVER_NAME = "declos-receiver.py"
_U64 = struct.Struct("<Q")
_RECEIVER_SRC = Path(__file__).with_name("receiver.py")
WINDOW = 1 << 26


@dataclass
class CopyResult:
    """What a copy did: `sent` in the order sent; `round_trips` counts query exchanges."""

    closure: list[str] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)
    already_present: int = 0
    nar_bytes: int = 0
    wire_bytes: int = 0
    seconds: float = 0.0
    round_trips: int = 0
    receiver_uploaded: bool = False


@dataclass
class Target:
    host: str
    user: str | None = None
    port: int | None = None
    root: str | None = None

    @classmethod
    def parse(cls, url: str, remote_root: str | None = None) -> Target:
        if not url.startswith("ssh://"):
            raise StoreError(
                f"unsupported store URL {url!r}: use ssh://[user@]host[:port][?root=/dir]"
            )
        u = urlparse(url)
        if not u.hostname:
            raise StoreError(f"store URL {url!r} has no host name")
        root = remote_root or (parse_qs(u.query).get("root") or [None])[0]
        return cls(u.hostname, unquote(u.username) if u.username else None, u.port, root)


def receiver_source() -> bytes:
    return _RECEIVER_SRC.read_bytes()


class AcceptNewPolicy:
    """Accept and save a host key on first contact only (ssh's StrictHostKeyChecking=accept-new).

    A changed key still fails: paramiko checks known keys before asking the policy.
    """

    def __init__(self, known_hosts: str) -> None:
        self.known_hosts = known_hosts

    def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
        client.get_host_keys().add(hostname, key.get_name(), key)
        os.makedirs(os.path.dirname(self.known_hosts) or ".", exist_ok=True)
        with open(self.known_hosts, "a") as f:
            f.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")


def connect(
    target: Target,
    *,
    identity_file: str | None = None,
    known_hosts: str | None = None,
    accept_new: bool = False,
    timeout: float = 20.0,
) -> Any:
    """An SSHClient honouring ~/.ssh/config (HostName, User, Port, IdentityFile, UserKnownHostsFile)."""
    import paramiko

    cfg_path = os.path.expanduser("~/.ssh/config")
    conf: dict[str, Any] = {}
    if os.path.exists(cfg_path):
        conf = paramiko.SSHConfig.from_path(cfg_path).lookup(target.host)
    hostname = conf.get("hostname", target.host)
    port = target.port or int(conf.get("port", 22))
    user = target.user or conf.get("user") or os.environ.get("USER") or "root"
    keys = (
        [identity_file]
        if identity_file
        else [os.path.expanduser(k) for k in conf.get("identityfile", [])]
    )
    kh = known_hosts or (
        os.path.expanduser(conf["userknownhostsfile"].split()[0])
        if "userknownhostsfile" in conf
        else os.path.expanduser("~/.ssh/known_hosts")
    )
    client = paramiko.SSHClient()
    if known_hosts is None:
        try:
            client.load_system_host_keys()
        except OSError:
            pass
    if os.path.exists(kh):
        client.load_host_keys(kh)
    client.set_missing_host_key_policy(
        AcceptNewPolicy(kh) if accept_new else paramiko.RejectPolicy()
    )
    try:
        client.connect(
            hostname,
            port=port,
            username=user,
            key_filename=keys or None,
            timeout=timeout,
            allow_agent=not identity_file,
            look_for_keys=not identity_file and not keys,
            transport_factory=_FastTransport.factory(),
        )
    except paramiko.BadHostKeyException as exc:
        raise StoreError(
            f"host key for {hostname}:{port} does NOT match {kh} (got {exc.key.get_name()}); "
            "someone may be intercepting the connection; fix known_hosts if the host was reinstalled"
        ) from exc
    except paramiko.SSHException as exc:
        if "not found in known_hosts" in str(exc):
            raise StoreError(
                f"host {hostname}:{port} is not in {kh}; verify its key and add it, "
                "or pass --accept-new for a first contact"
            ) from exc
        raise StoreError(f"ssh to {user}@{hostname}:{port} failed: {exc}") from exc
    except OSError as exc:
        raise StoreError(f"cannot connect to {hostname}:{port}: {exc}") from exc
    transport = client.get_transport()
    transport.window_size = WINDOW
    transport.packetizer.REKEY_BYTES = pow(2, 40)
    transport.packetizer.REKEY_PACKETS = pow(2, 40)
    return client


class _FastTransport:
    """Prefer AES-GCM: one AEAD pass per packet instead of AES-CTR plus a separate HMAC."""

    @staticmethod
    def factory() -> Any:
        import paramiko

        class Fast(paramiko.Transport):
            _preferred_ciphers = (
                "aes128-gcm@openssh.com",
                "aes256-gcm@openssh.com",
                *(c for c in paramiko.Transport._preferred_ciphers if "gcm" not in c),
            )

        return Fast


class Session:
    """One exec channel to the agent (uploading it first when the target lacks it)."""

    def __init__(self, client: Any, store: Store, target: Target, python: str) -> None:
        self.client = client
        self.store = store
        self.target = target
        self.python = python
        src = receiver_source()
        self.receiver_path = make_text_path(RECEIVER_NAME, src, (), store.store_dir)
        self.uploaded = False
        self.chan: Any = None
        self._rbuf = b""

    def _args(self) -> list[str]:
        args = [f"--store-dir={self.store.store_dir}", f"--state-dir={self.store.state_dir}"]
        if self.target.root:
            args.append(f"--root={self.target.root}")
        return args

    def _phys(self, logical: str) -> str:
        return (self.target.root or "") + logical

    def _exec(self, command: str) -> Any:
        chan = self.client.get_transport().open_session(window_size=WINDOW, max_packet_size=1 << 15)
        chan.exec_command(command)
        return chan

    def upload_receiver(self) -> None:
        src = receiver_source()
        boot = (
            "import sys; s = sys.stdin.buffer.read(); "
            "exec(compile(s, 'declos-receiver', 'exec'), {'__name__': '__declos_install__', 'SOURCE': s})"
        )
        nix32 = nix32_encode(hashlib.sha256(src).digest())
        args = [*self._args(), f"--path={self.receiver_path}", f"--nix32={nix32}"]
        chan = self._exec(shlex.join([self.python, "-c", boot, *args]))
        chan.sendall(src)
        chan.shutdown_write()
        err = b""
        while True:
            data = chan.recv_stderr(65536)
            if not data:
                break
            err += data
        rc = chan.recv_exit_status()
        if rc != 0:
            raise StoreError(
                f"installing the declos receiver on {self.target.host} failed ({rc}): {err.decode(errors='replace')}"
            )
        self.uploaded = True

    def open(self, query: dict[str, Any]) -> dict[str, Any]:
        """Start the agent, send the query, return its reply: the one round trip."""
        for _attempt in range(2):
            phys = self._phys(self.receiver_path)
            cmd = (
                f"test -e {shlex.quote(phys)} || {{ echo DECLOS-NEED-RECEIVER; exit 0; }}; "
                f"exec {shlex.join([self.python, phys, 'serve', *self._args()])}"
            )
            self.chan = self._exec(cmd)
            self._rbuf = b""
            self.chan.sendall(nstr(PROTOCOL) + nstr(json.dumps(query).encode()))
            first = self._read_exact(8)
            if first == b"DECLOS-N":
                self.chan.close()
                self.upload_receiver()
                continue
            self._rbuf = first + self._rbuf
            if self._read_str() != PROTOCOL:
                raise StoreError("the remote declos receiver speaks another protocol version")
            return json.loads(self._read_str())
        raise StoreError("the declos receiver could not be started on the target")

    def _read_exact(self, n: int) -> bytes:
        while len(self._rbuf) < n:
            data = self.chan.recv(1 << 20)
            if not data:
                err = b""
                while self.chan.recv_stderr_ready():
                    err += self.chan.recv_stderr(65536)
                raise StoreError(
                    f"connection to the declos receiver closed: {err.decode(errors='replace').strip()}"
                )
            self._rbuf += data
        out, self._rbuf = self._rbuf[:n], self._rbuf[n:]
        return out

    def _read_str(self) -> bytes:
        (n,) = _U64.unpack(self._read_exact(8))
        return self._read_exact(n + ((-n) % 8))[:n]

    def read_json(self) -> dict[str, Any]:
        return json.loads(self._read_str())


class _ZstdPipe:
    """Compress a byte stream with the zstd binary in a separate process (uses the 2nd core)."""

    def __init__(self, send: Callable[[bytes], object]) -> None:
        self.proc = subprocess.Popen(
            ["zstd", "-c", "-q", "-1", "-T0"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        self.bytes_out = 0

        def pump() -> None:
            assert self.proc.stdout is not None
            while True:
                data = self.proc.stdout.read1(1 << 20)
                if not data:
                    break
                self.bytes_out += len(data)
                send(data)

        self.thread = threading.Thread(target=pump, daemon=True)
        self.thread.start()

    def write(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)

    def close(self) -> None:
        assert self.proc.stdin is not None
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
        import queue

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
                except BaseException as exc:
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
    """Coalesces small writes into ~1 MiB sends (one paramiko call per many small files)."""

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


def copy_closure(
    store: Store,
    paths: list[str],
    to: str,
    *,
    identity_file: str | None = None,
    known_hosts: str | None = None,
    accept_new: bool = False,
    compress: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
    remote_root: str | None = None,
    remote_python: str = "python3",
) -> CopyResult:
    """Copy the closure of `paths` to `to` (ssh://...); only missing paths are sent."""
    t0 = time.monotonic()
    target = Target.parse(to, remote_root)
    closure = store.closure(paths)
    result = CopyResult(closure=closure)
    client = connect(
        target, identity_file=identity_file, known_hosts=known_hosts, accept_new=accept_new
    )
    try:
        session = Session(client, store, target, remote_python)
        reply = session.open({"op": "query-valid", "paths": closure})
        result.round_trips += 1
        result.receiver_uploaded = session.uploaded
        valid = set(reply["valid"])
        missing = [p for p in closure if p not in valid]
        result.already_present = len(closure) - len(missing)
        chan = session.chan
        if not missing:
            chan.sendall(nstr(b""))
            chan.shutdown_write()
            chan.recv_exit_status()
            result.seconds = time.monotonic() - t0
            return result
        use_zstd = compress and reply.get("zstd") and _have_zstd()
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
                    if "done" in msg:
                        acks.append(msg["done"])
                        if progress:
                            progress(msg["done"], len(acks), total)
                    else:
                        return
            except BaseException as exc:
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
                raise StoreError(
                    f"copy to {to} interrupted after {len(acks)} of {len(missing)} paths: {exc}"
                ) from exc
            raise
        reader.join()
        if ack_error:
            _settle(chan)
            if not isinstance(ack_error[0], StoreError):
                raise ack_error[0]
        rc = chan.recv_exit_status() if chan.exit_status_ready() or not ack_error else -1
        if ack_error or rc != 0 or len(acks) != len(missing):
            err = b""
            while chan.recv_stderr_ready():
                err += chan.recv_stderr(65536)
            detail = err.decode(errors="replace").strip() or (
                str(ack_error[0]) if ack_error else f"exit {rc}"
            )
            raise StoreError(
                f"copy to {to} failed after {len(acks)} of {len(missing)} paths: {detail}"
            )
        result.sent = acks
        result.nar_bytes = sent_bytes
        result.wire_bytes = zpipe.bytes_out if zpipe is not None else batch.total
        result.seconds = time.monotonic() - t0
        return result
    finally:
        client.close()


def copy_from(
    store: Store,
    paths: list[str],
    source: str,
    *,
    identity_file: str | None = None,
    known_hosts: str | None = None,
    accept_new: bool = False,
    remote_root: str | None = None,
    remote_python: str = "python3",
    progress: Callable[[str, int, int], None] | None = None,
) -> CopyResult:
    """Fetch the closure of `paths` from a remote store into this one."""
    t0 = time.monotonic()
    target = Target.parse(source, remote_root)
    client = connect(
        target, identity_file=identity_file, known_hosts=known_hosts, accept_new=accept_new
    )
    try:
        session = Session(client, store, target, remote_python)
        reply = session.open({"op": "query-closure", "paths": paths})
        infos = [PathInfo.from_json(i) for i in reply["infos"]]
        result = CopyResult(
            closure=[i.path for i in infos], round_trips=1, receiver_uploaded=session.uploaded
        )
        valid = store.valid_subset(result.closure)
        missing = [i for i in infos if i.path not in valid]
        result.already_present = len(infos) - len(missing)
        session.chan.sendall(
            nstr(json.dumps({"op": "export", "paths": [i.path for i in missing]}).encode())
        )
        session.chan.shutdown_write()
        for n, want in enumerate(missing, 1):
            (tag,) = _U64.unpack(session._read_exact(8))
            info = PathInfo.from_json(json.loads(session._read_str()))
            if tag != 1 or info.path != want.path:
                raise StoreError(f"unexpected path from {source}: {info.path}")
            store.add_nar(info, session._read_exact)
            result.sent.append(info.path)
            result.nar_bytes += info.nar_size
            if progress:
                progress(info.path, n, len(missing))
        session._read_exact(8)
        result.seconds = time.monotonic() - t0
        return result
    finally:
        client.close()


def _settle(chan: Any, timeout: float = 10.0) -> None:
    """Send EOF and give the receiver a moment to drop its partial path and exit."""
    try:
        chan.shutdown_write()
        deadline = time.monotonic() + timeout
        while not chan.exit_status_ready() and time.monotonic() < deadline:
            time.sleep(0.01)
    except (OSError, EOFError):
        pass
    finally:
        chan.close()


def _have_zstd() -> bool:
    import shutil

    return shutil.which("zstd") is not None
