"""Starting libvirt's daemons on machines without systemd as PID 1.

There is no socket activation here, so whoever needs `qemu:///system` starts `virtlogd`
and `libvirtd` (daemonized) when their sockets do not answer. A file lock makes
concurrent test sessions start them once. They are left running afterwards: other
sessions (and the libvirt deployment backend) may be using them.

libvirtd is started in a private mount namespace where /etc/libvirt/qemu.conf is
replaced by the harness's own (QEMU runs as root). Why: with Debian's default
(`libvirt-qemu` user) on a host whose /dev/kvm is root-only and whose nested KVM is
unusable, libvirt probes QEMU as root, records "KVM available", then finds /dev/kvm
inaccessible to the QEMU user and throws the capability cache away on *every* API call:
each define or start re-probes QEMU (4 s idle, over a minute on a loaded machine).
/etc is not modified.
"""

from __future__ import annotations

import fcntl
import socket
import subprocess
import time
from pathlib import Path

from declos.virt.errors import VirtError

LIBVIRT_SOCKET = Path("/run/libvirt/libvirt-sock")
VIRTLOGD_SOCKET = Path("/run/libvirt/virtlogd-sock")
_LOCK = Path("/tmp/declos-libvirt-daemons.lock")
QEMU_CONF = Path("/tmp/declos-libvirt/qemu.conf")
_QEMU_CONF_TEXT = """# Written by declos (declos/virt/daemons.py) for the libvirtd it starts.
user = "root"
group = "root"
"""


def _answers(path: Path) -> bool:
    if not path.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


def _start(argv: list[str], sock: Path, timeout: float) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise VirtError(
            f"{argv[0]} failed to start (exit {proc.returncode}): {proc.stderr.strip()}"
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _answers(sock):
            return
        time.sleep(0.1)
    raise VirtError(f"{argv[0]} started but {sock} did not answer within {timeout} s")


def ensure_libvirtd(timeout: float = 60.0) -> None:
    """Make sure virtlogd and libvirtd answer on their system sockets."""
    if _answers(LIBVIRT_SOCKET) and _answers(VIRTLOGD_SOCKET):
        return
    with open(_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _answers(VIRTLOGD_SOCKET):
            _start(["virtlogd", "-d"], VIRTLOGD_SOCKET, timeout)
        if not _answers(LIBVIRT_SOCKET):
            QEMU_CONF.parent.mkdir(parents=True, exist_ok=True)
            QEMU_CONF.write_text(_QEMU_CONF_TEXT)
            _start(
                [
                    "unshare",
                    "--mount",
                    "--propagation",
                    "private",
                    "sh",
                    "-c",
                    f"mount --bind {QEMU_CONF} /etc/libvirt/qemu.conf && exec libvirtd -d",
                ],
                LIBVIRT_SOCKET,
                timeout,
            )
