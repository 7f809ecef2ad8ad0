"""Whether an SSH server answers on host:port, without an SSH library.

Kept apart from declos.hosts.ssh (paramiko) so that code that only waits for a port (a
backend booting a VM) does not import paramiko.
"""

from __future__ import annotations

import socket


def banner_ready(host: str, port: int, timeout: float = 3.0) -> bool:
    """True when something answers an SSH banner on host:port.

    A port forwarded by QEMU accepts TCP before the guest listens, so a plain connect
    proves nothing: wait for the banner."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            return sock.recv(8).startswith(b"SSH-")
    except OSError:
        return False
