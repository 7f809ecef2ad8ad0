"""One strict paramiko connection per VM, through the port forwarded on 127.0.0.1.

The host key is checked against a known_hosts file the harness wrote before boot
(RejectPolicy: an unknown or changed key is an error, never accepted). The connection
is re-opened after reboots and snapshot restores; commands have a host-side timeout.
"""

from __future__ import annotations

import logging
import shlex
import socket
import stat
import time
from pathlib import Path, PurePosixPath
from typing import Any

from declos.testing.errors import MachineError

logging.getLogger("paramiko").setLevel(logging.CRITICAL)


def banner_ready(port: int, timeout: float = 3.0) -> bool:
    """True when something answers an SSH banner on 127.0.0.1:port.

    QEMU's user networking accepts TCP on the forwarded port even before the guest
    listens, so a plain connect proves nothing: wait for the banner.
    """
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            return sock.recv(8).startswith(b"SSH-")
    except OSError:
        return False


class SshConnection:
    """A paramiko client bound to one VM's forwarded port, key and known_hosts."""

    def __init__(self, port: int, identity: Path, known_hosts: Path, user: str = "root") -> None:
        self.port = port
        self.identity = identity
        self.known_hosts = known_hosts
        self.user = user
        self._client: Any = None

    def connect(self, timeout: float = 20.0) -> None:
        import paramiko

        self.close()
        client = paramiko.SSHClient()
        client.load_host_keys(str(self.known_hosts))
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        client.connect(
            "127.0.0.1",
            self.port,
            self.user,
            key_filename=str(self.identity),
            timeout=timeout,
            banner_timeout=timeout,
            auth_timeout=timeout,
            allow_agent=False,
            look_for_keys=False,
        )
        transport = client.get_transport()
        if transport is not None:
            transport.set_keepalive(15)
        self._client = client

    @property
    def connected(self) -> bool:
        if self._client is None:
            return False
        transport = self._client.get_transport()
        return bool(transport is not None and transport.is_active())

    @property
    def client(self) -> Any:
        if not self.connected:
            raise MachineError("not connected")
        return self._client

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            except Exception:  # noqa: BLE001 - closing a dead transport may raise anything
                pass
            self._client = None

    def run(self, command: str, timeout: float) -> tuple[int, str, str]:
        """Run `command` under bash; (status, stdout, stderr). Raises MachineError on timeout."""
        transport = self.client.get_transport()
        chan = transport.open_session(timeout=30)
        chan.settimeout(1.0)
        chan.exec_command("bash -c " + shlex.quote(command))
        chan.shutdown_write()
        out, err = bytearray(), bytearray()
        deadline = time.monotonic() + timeout
        while True:
            progressed = False
            while chan.recv_ready():
                out += chan.recv(65536)
                progressed = True
            while chan.recv_stderr_ready():
                err += chan.recv_stderr(65536)
                progressed = True
            if chan.exit_status_ready() and not chan.recv_ready() and not chan.recv_stderr_ready():
                break
            if chan.closed or not transport.is_active():
                chan.close()
                raise MachineError(f"connection lost while running {command!r}")
            if time.monotonic() > deadline:
                chan.close()
                raise MachineError(f"command {command!r} did not finish within {timeout} s")
            if not progressed:
                time.sleep(0.02)
        status = chan.recv_exit_status()
        chan.close()
        return status, out.decode(errors="replace"), err.decode(errors="replace")

    def put(self, src: Path, dst: str) -> None:
        """Copy a host file or directory tree to `dst` in the guest (SFTP)."""
        sftp = self.client.open_sftp()
        try:
            _put(sftp, src, PurePosixPath(dst))
        finally:
            sftp.close()

    def get(self, src: str, dst: Path) -> None:
        """Copy a guest file or directory tree to `dst` on the host (SFTP)."""
        sftp = self.client.open_sftp()
        try:
            _get(sftp, PurePosixPath(src), dst)
        finally:
            sftp.close()


def _put(sftp: Any, src: Path, dst: PurePosixPath) -> None:
    if src.is_dir():
        try:
            sftp.mkdir(str(dst))
        except OSError:
            pass
        for child in sorted(src.iterdir()):
            _put(sftp, child, dst / child.name)
    else:
        sftp.put(str(src), str(dst))
        sftp.chmod(str(dst), src.stat().st_mode & 0o7777)


def _get(sftp: Any, src: PurePosixPath, dst: Path) -> None:
    if stat.S_ISDIR(sftp.stat(str(src)).st_mode):
        dst.mkdir(parents=True, exist_ok=True)
        for name in sorted(sftp.listdir(str(src))):
            _get(sftp, src / name, dst / name)
    else:
        dst.parent.mkdir(parents=True, exist_ok=True)
        sftp.get(str(src), str(dst))
