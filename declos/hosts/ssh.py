"""A host reached over SSH: one paramiko transport, reused for every command and copy.

The transport is opened on first use and kept; each command is a session channel on it
(the SSH analogue of OpenSSH's ControlMaster). The server's host key is checked against
a `KnownHosts` source before authenticating (declos.hosts.known_hosts); failures are
typed errors. Every step has a timeout: connecting, the banner, the key exchange,
authentication, each command, and each idle stream.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlparse

import paramiko

from declos.hosts.banner import banner_ready as banner_ready  # where it lived before
from declos.hosts.base import DEFAULT_TIMEOUT, CommandResult, Host, command_line
from declos.hosts.errors import (
    AuthenticationFailed,
    CommandFailed,
    CommandTimeout,
    HostError,
    HostKeyMismatch,
    HostUnreachable,
    InvalidCommand,
    UnknownHostKey,
)
from declos.hosts.known_hosts import (
    HostKeyPolicy,
    KnownHosts,
    OpenSSHKnownHosts,
    fingerprint,
)

# Large windows keep a closure copy streaming instead of waiting for window adjusts.
WINDOW = 1 << 26
MAX_PACKET = 1 << 15
# AES-GCM first: one AEAD pass per packet instead of AES-CTR plus a separate HMAC.
# How long output may still arrive after the exit status (see SSHHost._collect).
_EOF_GRACE = 2.0
_FAST_CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com")
# paramiko logs failures (with tracebacks) on its transport's channel; errors reach
# callers as typed exceptions instead, so the channel only goes to handlers the
# application installs (a library's NullHandler, per the logging HOWTO).
LOG_CHANNEL = "declos.hosts.ssh.transport"
logging.getLogger(LOG_CHANNEL).addHandler(logging.NullHandler())
# Host-key algorithms that a recorded key of a given type can be presented with.
_KEY_ALGORITHMS = {"ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")}


class SSHChannel:
    """One exec channel as a copy stream (declos.store.copy.Channel)."""

    def __init__(self, host: str, argv: Sequence[str], chan: paramiko.Channel, idle: float) -> None:
        self.host = host
        self.argv = tuple(argv)
        self.idle = idle
        self.chan = chan
        self._stderr = bytearray()
        chan.settimeout(idle)

    def _timeout(self, exc: BaseException) -> CommandTimeout:
        return CommandTimeout(self.host, self.argv, self.idle)

    def sendall(self, data: bytes) -> None:
        try:
            self.chan.sendall(data)
        except TimeoutError as exc:
            raise self._timeout(exc) from exc

    def recv(self, size: int) -> bytes:
        try:
            return self.chan.recv(size)
        except TimeoutError as exc:
            raise self._timeout(exc) from exc

    def shutdown_write(self) -> None:
        self.chan.shutdown_write()

    def wait(self, timeout: float) -> int | None:
        deadline = time.monotonic() + timeout
        while not self.chan.exit_status_ready():
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.01)
        return self.chan.recv_exit_status()

    def stderr_text(self) -> str:
        while self.chan.recv_stderr_ready():
            self._stderr += self.chan.recv_stderr(65536)
        return bytes(self._stderr).decode(errors="replace")

    def close(self) -> None:
        self.chan.close()


class SSHHost(Host):
    """A host over SSH with public-key authentication and checked host keys."""

    def __init__(
        self,
        hostname: str,
        port: int = 22,
        user: str = "root",
        *,
        key_file: str | os.PathLike[str] | None = None,
        known_hosts: KnownHosts,
        policy: HostKeyPolicy = HostKeyPolicy.STRICT,
        connect_timeout: float = 10.0,
        allow_agent: bool = False,
        keepalive: int = 15,
        name: str | None = None,
        root: str | None = None,
        python: str = "python3",
    ) -> None:
        self.hostname = hostname
        self.port = port
        self.user = user
        self.key_file = os.fspath(key_file) if key_file is not None else None
        self.known_hosts = known_hosts
        self.policy = policy
        self.connect_timeout = connect_timeout
        self.allow_agent = allow_agent
        self.keepalive = keepalive
        self.name = name or (hostname if port == 22 else f"{hostname}:{port}")
        self.root = root
        self.python = python
        self._transport: paramiko.Transport | None = None
        self._lock = threading.Lock()

    # ---- the connection -----------------------------------------------------------------
    @property
    def connected(self) -> bool:
        t = self._transport
        return t is not None and t.is_active()

    def connect(self) -> None:
        """Open the connection unless it is open (every call does this first)."""
        self._active()

    def reconnect(self) -> None:
        """Drop the connection and open a new one (after a reboot, or to prove reachability)."""
        self.close()
        self._active()

    def close(self) -> None:
        with self._lock:
            t, self._transport = self._transport, None
        if t is not None:
            t.close()

    def _active(self) -> paramiko.Transport:
        with self._lock:
            t = self._transport
            if t is None or not t.is_active():
                if t is not None:
                    t.close()
                self._transport = None
                t = self._open()
                self._transport = t
            return t

    def _open(self) -> paramiko.Transport:
        try:
            sock = socket.create_connection(
                (self.hostname, self.port), timeout=self.connect_timeout
            )
        except OSError as exc:
            raise HostUnreachable(self.hostname, self.port, str(exc) or type(exc).__name__) from exc
        t = paramiko.Transport(sock, default_window_size=WINDOW, default_max_packet_size=MAX_PACKET)
        t.set_log_channel(LOG_CHANNEL)
        try:
            t.banner_timeout = self.connect_timeout
            t.handshake_timeout = self.connect_timeout
            t.auth_timeout = self.connect_timeout
            self._prefer(t)
            try:
                t.start_client(timeout=self.connect_timeout)
                served = t.get_remote_server_key()
            except (paramiko.SSHException, OSError, EOFError) as exc:
                raise HostUnreachable(
                    self.hostname, self.port, f"SSH handshake failed: {exc or type(exc).__name__}"
                ) from exc
            self._check_host_key(served)
            self._authenticate(t)
            if self.keepalive:
                t.set_keepalive(self.keepalive)
            return t
        except BaseException:
            t.close()
            raise

    def _prefer(self, t: paramiko.Transport) -> None:
        """Fast ciphers first; ask for the host-key types we have recorded (like ssh does)."""
        opts = t.get_security_options()
        ciphers = tuple(opts.ciphers)
        opts.ciphers = (
            *(c for c in _FAST_CIPHERS if c in ciphers),
            *(c for c in ciphers if c not in _FAST_CIPHERS),
        )
        recorded = [k.get_name() for k in self.known_hosts.lookup(self.hostname, self.port)]
        wanted = [a for name in recorded for a in _KEY_ALGORITHMS.get(name, (name,))]
        usable = tuple(dict.fromkeys(a for a in wanted if a in opts.key_types))
        if usable:
            opts.key_types = usable

    def _check_host_key(self, key: paramiko.PKey) -> None:
        known = self.known_hosts.lookup(self.hostname, self.port)
        if any(k.asbytes() == key.asbytes() for k in known):
            return
        got = fingerprint(key)
        if known:
            same_type = [k for k in known if k.get_name() == key.get_name()]
            expected = fingerprint((same_type or known)[0])
            raise HostKeyMismatch(self.hostname, self.port, expected, got)
        if self.policy is HostKeyPolicy.ACCEPT_NEW:
            self.known_hosts.learn(self.hostname, self.port, key)
            return
        raise UnknownHostKey(self.hostname, self.port, got)

    def _authenticate(self, t: paramiko.Transport) -> None:
        keys: list[paramiko.PKey] = []
        if self.key_file is not None:
            try:
                keys.append(paramiko.PKey.from_path(self.key_file))
            except (OSError, paramiko.SSHException, ValueError) as exc:
                raise AuthenticationFailed(
                    self.hostname, self.port, self.user, f"cannot load key {self.key_file}: {exc}"
                ) from exc
        elif self.allow_agent:
            keys.extend(paramiko.Agent().get_keys())
        if not keys:
            raise AuthenticationFailed(self.hostname, self.port, self.user, "no key to offer")
        last = "no key was accepted"
        for key in keys:
            try:
                t.auth_publickey(self.user, key)
            except paramiko.AuthenticationException as exc:
                last = str(exc) or "key refused"
                continue
            except (paramiko.SSHException, OSError, EOFError) as exc:
                raise HostUnreachable(
                    self.hostname, self.port, f"connection lost while authenticating: {exc}"
                ) from exc
            if t.is_authenticated():
                return
        raise AuthenticationFailed(self.hostname, self.port, self.user, last)

    def _session(self, window: int = WINDOW) -> paramiko.Channel:
        t = self._active()
        try:
            return t.open_session(
                window_size=window, max_packet_size=MAX_PACKET, timeout=self.connect_timeout
            )
        except (paramiko.SSHException, OSError, EOFError) as exc:
            self.close()
            raise HostUnreachable(
                self.hostname, self.port, f"cannot open a session: {exc or type(exc).__name__}"
            ) from exc

    # ---- commands -----------------------------------------------------------------------
    def run(
        self,
        argv: Sequence[str],
        *,
        input: bytes | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        check: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> CommandResult:
        if not argv:
            raise InvalidCommand("empty command")
        line = command_line(argv, env)
        chan = self._session()
        try:
            chan.exec_command(line)
            writer = _feed(chan, input)
            status, out, err = self._collect(chan, tuple(argv), timeout)
            if writer is not None:
                writer.join(timeout=1.0)
        finally:
            chan.close()
        result = CommandResult(tuple(argv), status, out, err)
        if check and status != 0:
            raise CommandFailed(self.name, result)
        return result

    def _collect(
        self, chan: paramiko.Channel, argv: tuple[str, ...], timeout: float
    ) -> tuple[int, bytes, bytes]:
        """Read stdout and stderr until the command exits; CommandTimeout after `timeout`."""
        out, err = bytearray(), bytearray()
        deadline = time.monotonic() + timeout
        transport = chan.get_transport()
        exited_at: float | None = None
        while True:
            # Read the flags before draining: paramiko's transport thread may buffer data
            # and then EOF at any moment, so EOF seen before a drain means the drain got
            # everything, while EOF seen after it may hide data that arrived in between.
            eof = chan.eof_received
            exited = chan.exit_status_ready()
            _drain(chan, out, err)
            if exited:
                # sshd may send exit-status before the last output it still had buffered;
                # only EOF says all of it arrived. A background child that keeps the
                # output open would withhold EOF forever, hence the grace period.
                now = time.monotonic()
                exited_at = now if exited_at is None else exited_at
                if eof or now - exited_at >= _EOF_GRACE:
                    _drain(chan, out, err)
                    return chan.recv_exit_status(), bytes(out), bytes(err)
            if transport is None or not transport.is_active():
                self.close()
                raise HostUnreachable(
                    self.hostname, self.port, f"connection lost while running {' '.join(argv)!r}"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise CommandTimeout(self.name, argv, timeout)
            chan.status_event.wait(min(remaining, 0.02))

    def open_channel(self, argv: Sequence[str], *, idle_timeout: float = 300.0) -> SSHChannel:
        if not argv:
            raise InvalidCommand("empty command")
        chan = self._session()
        try:
            chan.exec_command(command_line(argv))
        except (paramiko.SSHException, OSError, EOFError) as exc:
            chan.close()
            raise HostUnreachable(self.hostname, self.port, f"exec failed: {exc}") from exc
        return SSHChannel(self.name, argv, chan, idle_timeout)


def _drain(chan: paramiko.Channel, out: bytearray, err: bytearray) -> None:
    """Move what paramiko has buffered on both streams into `out` and `err`."""
    while chan.recv_ready():
        out += chan.recv(65536)
    while chan.recv_stderr_ready():
        err += chan.recv_stderr(65536)


def _feed(chan: paramiko.Channel, data: bytes | None) -> threading.Thread | None:
    """Send stdin from a thread (a command may write output before it reads all input)."""
    if not data:
        chan.shutdown_write()
        return None

    def send() -> None:
        try:
            chan.sendall(data)
            chan.shutdown_write()
        except (OSError, EOFError, paramiko.SSHException):
            pass  # the command exited without reading everything: its status tells

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


# ---- ssh:// URLs and ~/.ssh/config ---------------------------------------------------------
@dataclass(frozen=True)
class SSHTarget:
    """An `ssh://[user@]host[:port][?root=/dir]` URL, parsed."""

    host: str
    user: str | None = None
    port: int | None = None
    root: str | None = None

    @classmethod
    def parse(cls, url: str) -> SSHTarget:
        if not url.startswith("ssh://"):
            raise InvalidCommand(
                f"unsupported store URL {url!r}: use ssh://[user@]host[:port][?root=/dir]"
            )
        u = urlparse(url)
        if not u.hostname:
            raise InvalidCommand(f"store URL {url!r} has no host name")
        try:
            port = u.port
        except ValueError as exc:
            raise InvalidCommand(f"store URL {url!r}: {exc}") from exc
        roots = parse_qs(u.query).get("root")
        root = roots[0] if roots else None
        return cls(u.hostname, unquote(u.username) if u.username else None, port, root)


def ssh_host_from_url(
    url: str,
    *,
    key_file: str | None = None,
    known_hosts_file: str | None = None,
    policy: HostKeyPolicy = HostKeyPolicy.STRICT,
    root: str | None = None,
    python: str = "python3",
    connect_timeout: float = 20.0,
) -> SSHHost:
    """An SSHHost for a URL, honouring ~/.ssh/config (HostName, User, Port, IdentityFile,
    UserKnownHostsFile) as `ssh` would; explicit arguments win over the config."""
    target = SSHTarget.parse(url)
    conf: dict[str, object] = {}
    cfg_path = os.path.expanduser("~/.ssh/config")
    if os.path.exists(cfg_path):
        try:
            conf = dict(paramiko.SSHConfig.from_path(cfg_path).lookup(target.host))
        except (OSError, paramiko.SSHException) as exc:
            raise HostError(f"{cfg_path}: {exc}") from exc
    hostname = str(conf.get("hostname", target.host))
    port = target.port or int(str(conf.get("port", 22)))
    user = target.user or str(conf.get("user") or os.environ.get("USER") or "root")
    identities = conf.get("identityfile")
    if key_file is None and isinstance(identities, list) and identities:
        key_file = os.path.expanduser(str(identities[0]))
    if known_hosts_file is None:
        configured = conf.get("userknownhostsfile")
        known_hosts_file = os.path.expanduser(
            str(configured).split()[0] if configured else "~/.ssh/known_hosts"
        )
    return SSHHost(
        hostname,
        port,
        user,
        key_file=key_file,
        known_hosts=OpenSSHKnownHosts(known_hosts_file),
        policy=policy,
        connect_timeout=connect_timeout,
        allow_agent=key_file is None,
        name=target.host if target.port is None else f"{target.host}:{port}",
        root=root if root is not None else target.root,
        python=python,
    )
