"""A test fleet of real systemd hosts without VMs: systemd-nspawn containers with sshd.

One Debian rootfs (`mmdebstrap --variant=apt --include=systemd,systemd-sysv,dbus,
openssh-server,python3 bookworm`) is built once and cached under
~/.cache/declos/nspawn/. Each container boots it through its own overlayfs (the rootfs is
the read-only lower layer, so containers cost only what they write), with `systemd-nspawn
-D MERGED -b --register=no --keep-unit`, which works although this host has no systemd.

Containers share the host's network namespace, so each sshd listens on its own
127.0.0.1 port (written into sshd_config.d before boot). Each gets a fresh ed25519 host
key generated here, so a test knows the key before first contact, and the fleet's
client key in root's authorized_keys. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import paramiko

PACKAGES = "systemd,systemd-sysv,dbus,openssh-server,python3"
SUITE = "bookworm"
BOOT_TIMEOUT = 180.0


class ContainerError(Exception):
    """A container could not be prepared, booted or stopped."""


def cache_dir() -> Path:
    return Path(os.environ.get("DECLOS_CACHE", Path.home() / ".cache" / "declos")) / "nspawn"


def rootfs(extra: Sequence[str] = ()) -> Path:
    """The cached rootfs (with `extra` packages: a separate cache entry), built on first use
    (about 20-150 s; serialised by a file lock)."""
    base = cache_dir()
    base.mkdir(parents=True, exist_ok=True)
    suffix = "".join(f"+{p}" for p in sorted(extra))
    done = base / f"rootfs-{SUITE}{suffix}"
    if done.is_dir():
        return done
    with open(base / "rootfs.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.is_dir():
            return done
        tmp = base / f"rootfs-{SUITE}{suffix}.{os.getpid()}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        packages = ",".join([PACKAGES, *sorted(extra)])
        proc = subprocess.run(
            ["mmdebstrap", "--variant=apt", f"--include={packages}", SUITE, str(tmp)],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            raise ContainerError(f"mmdebstrap failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
        for key in (tmp / "etc/ssh").glob("ssh_host_*"):
            key.unlink()
        os.rename(tmp, done)
    return done


def banner_ready(port: int, timeout: float = 1.0) -> bool:
    """True when sshd answers its banner on 127.0.0.1:port (not just accepts TCP)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            return sock.recv(8).startswith(b"SSH-")
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Container:
    """One booted container: `port` is its sshd on 127.0.0.1, `host_key` its ed25519 key."""

    name: str
    workdir: Path
    port: int
    client_public: str
    host_key: paramiko.Ed25519Key = field(init=False)
    proc: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def merged(self) -> Path:
        return self.workdir / "merged"

    @property
    def log(self) -> Path:
        return self.workdir / "console.log"

    def prepare(self, lower: Path) -> None:
        for d in ("upper", "work", "merged"):
            (self.workdir / d).mkdir(parents=True, exist_ok=True)
        opts = f"lowerdir={lower},upperdir={self.workdir / 'upper'},workdir={self.workdir / 'work'}"
        _run(["mount", "-t", "overlay", "overlay", "-o", opts, str(self.merged)])
        root = self.merged
        (root / "etc/hostname").write_text(self.name + "\n")
        (root / "etc/machine-id").write_text(secrets.token_hex(16) + "\n")
        (root / "etc/ssh/sshd_config.d/declos-test.conf").write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\nPermitRootLogin prohibit-password\n"
            "UseDNS no\nPasswordAuthentication no\nHostKey /etc/ssh/ssh_host_ed25519_key\n"
        )
        self.host_key = paramiko.Ed25519Key.from_private_key_file(str(self._new_host_key(root)))
        ssh = root / "root/.ssh"
        ssh.mkdir(mode=0o700, parents=True, exist_ok=True)
        (ssh / "authorized_keys").write_text(self.client_public + "\n")
        os.chmod(ssh / "authorized_keys", 0o600)
        # No gettys on a passive console; no network management: the host's stack is shared.
        for unit in ("getty@tty1.service", "console-getty.service", "systemd-networkd.service"):
            (root / "etc/systemd/system" / unit).unlink(missing_ok=True)
            os.symlink("/dev/null", root / "etc/systemd/system" / unit)

    def _new_host_key(self, root: Path) -> Path:
        key = root / "etc/ssh/ssh_host_ed25519_key"
        key.unlink(missing_ok=True)
        Path(f"{key}.pub").unlink(missing_ok=True)
        _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", self.name, "-f", str(key)])
        return key

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    "systemd-nspawn",
                    "-D",
                    str(self.merged),
                    "-b",
                    "--register=no",
                    "--keep-unit",
                    "--console=passive",
                    f"--machine={self.name}",
                ],
                stdin=subprocess.DEVNULL,
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = BOOT_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise ContainerError(
                    f"container {self.name} exited ({self.proc.returncode}):\n{self.tail()}"
                )
            if banner_ready(self.port, timeout=1.0):
                return
            time.sleep(0.2)
        raise ContainerError(f"container {self.name}: no sshd on port {self.port}:\n{self.tail()}")

    def tail(self) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])
        except OSError:
            return ""

    def pause_sshd(self) -> None:
        """Make the host unreachable (`systemctl stop ssh` inside, through nsenter)."""
        self.exec(["systemctl", "stop", "ssh.socket", "ssh.service"])

    def exec(self, argv: Sequence[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run argv inside the container (nsenter into its PID 1's namespaces)."""
        pid = self.leader()
        return subprocess.run(
            ["nsenter", "-t", str(pid), "-a", *argv], capture_output=True, text=True, check=check
        )

    def leader(self) -> int:
        """The container's PID 1 as seen from the host (the nspawn child)."""
        if self.proc is None:
            raise ContainerError(f"container {self.name} is not running")
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        pids = [int(p) for p in children.split()]
        if not pids:
            raise ContainerError(f"container {self.name} has no init process")
        return pids[0]

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        subprocess.run(["umount", "-l", str(self.merged)], capture_output=True)


class Fleet:
    """N containers booted in parallel with one client key; `known_hosts` lists their keys."""

    def __init__(
        self,
        workdir: Path,
        names: Sequence[str],
        extra: Sequence[str] = (),
        *,
        no_container_option: bool = False,
    ) -> None:
        self.extra = tuple(extra)
        self.no_container_option = no_container_option
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.client_key_file = workdir / "id_ed25519"
        if not self.client_key_file.exists():
            _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.client_key_file)])
        public = Path(f"{self.client_key_file}.pub").read_text().strip()
        self.containers = {n: Container(n, workdir / n, free_port(), public) for n in names}

    def __getitem__(self, name: str) -> Container:
        return self.containers[name]

    def start(self, wave: int = 10) -> None:
        """Boot in waves of `wave` containers (a 50-host fleet at once starves a 2-core host)."""
        lower = rootfs(self.extra)
        raise_inotify_limit(16 * len(self.containers) + 256)
        items = list(self.containers.values())
        for i in range(0, len(items), wave):
            for c in items[i : i + wave]:
                c.prepare(lower)
                if self.no_container_option:
                    _without_container_option(c)
                c.start()
            for c in items[i : i + wave]:
                c.wait_ready()

    def stop(self) -> None:
        for c in self.containers.values():
            if c.proc is not None and c.proc.poll() is None:
                c.proc.send_signal(signal.SIGTERM)
        for c in self.containers.values():
            c.stop()


@contextmanager
def fleet(workdir: Path, names: Sequence[str]) -> Iterator[Fleet]:
    """Boot containers `names`; stop and unmount them after the block."""
    f = Fleet(workdir, names)
    try:
        f.start()
        yield f
    finally:
        f.stop()


def _without_container_option(c: Container) -> None:
    """For an activator without `boot.isContainer`: a writable /proc/sys (the container has
    its own UTS namespace, so the host name it sets is its own) and an `nft` that reports
    no declos table, so the firewall probe finds nothing (configs disable the firewall:
    the network namespace is this host's)."""
    c.env = {"SYSTEMD_NSPAWN_API_VFS_WRITABLE": "1"}
    nft = c.merged / "usr/sbin/nft"
    nft.write_text("#!/bin/sh\n# no nftables in this container\nexit 1\n")
    nft.chmod(0o755)


def raise_inotify_limit(want: int) -> None:
    """Each container's systemd takes several inotify instances, all as root; the kernel's
    default of 128 per user stops a fleet at about a dozen containers. Raised (at runtime
    only, and said on stderr) when lower than `want`."""
    knob = Path("/proc/sys/fs/inotify/max_user_instances")
    have = int(knob.read_text())
    if have < want:
        knob.write_text(f"{want}\n")
        print(
            f"fs.inotify.max_user_instances: {have} -> {want} (for the containers)", file=sys.stderr
        )


def available() -> str | None:
    """Why a fleet cannot run here (None when it can): root, nspawn, mmdebstrap, overlayfs."""
    if os.geteuid() != 0:
        return "needs root (overlay mounts, systemd-nspawn)"
    for tool in ("systemd-nspawn", "mmdebstrap", "nsenter", "ssh-keygen"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if "overlay" not in Path("/proc/filesystems").read_text():
        return "the kernel has no overlayfs"
    return None


def _run(argv: Sequence[str]) -> None:
    proc = subprocess.run(list(argv), capture_output=True, text=True)
    if proc.returncode != 0:
        raise ContainerError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()}")
