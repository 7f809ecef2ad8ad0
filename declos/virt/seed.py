"""The per-VM seed disk: the VM's identity, delivered without touching the base image.

A directory tree is laid out on the host and turned into a small ext4 image with
`mkfs.ext4 -d` (no loop device, no mount). The guest's `declos-seed.service` (see
guest_files.py) copies `tree/` over its root filesystem before sshd starts, so the host
key and authorized key land in the VM's own overlay before the first SSH connection.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from declos.virt.errors import VirtError
from declos.virt.ssh_keys import KeyPair


@dataclass(frozen=True)
class LanAddress:
    """A static address on a VDE LAN for the NIC with this MAC."""

    mac: str
    address: str  # "192.168.1.2/24"


@dataclass
class Seed:
    """What a VM learns from its seed disk."""

    hostname: str
    host_key: KeyPair
    authorized_key: str
    lans: list[LanAddress] = field(default_factory=list)
    hosts: dict[str, str] = field(default_factory=dict)  # name -> address, for /etc/hosts

    def files(self) -> dict[str, tuple[str, int]]:
        """Guest path -> (content, mode)."""
        hosts = "127.0.0.1 localhost\n127.0.1.1 " + self.hostname + "\n"
        hosts += "".join(f"{addr} {name}\n" for name, addr in sorted(self.hosts.items()))
        files = {
            "/etc/hostname": (self.hostname + "\n", 0o644),
            "/etc/hosts": (hosts, 0o644),
            "/etc/ssh/ssh_host_ed25519_key": (self.host_key.private_openssh, 0o600),
            "/etc/ssh/ssh_host_ed25519_key.pub": (self.host_key.public_openssh + "\n", 0o644),
            "/root/.ssh/authorized_keys": (self.authorized_key.strip() + "\n", 0o600),
        }
        for index, lan in enumerate(self.lans):
            files[f"/etc/systemd/network/20-lan{index}.network"] = (
                f"[Match]\nMACAddress={lan.mac}\n\n[Network]\nAddress={lan.address}\n"
                "LinkLocalAddressing=no\nIPv6AcceptRA=no\n",
                0o644,
            )
        return files

    def seed_id(self) -> str:
        digest = hashlib.sha256()
        for path, (content, mode) in sorted(self.files().items()):
            digest.update(f"{path}\0{mode}\0{content}\0".encode())
        return digest.hexdigest()[:16]

    def build(self, image: Path) -> Path:
        """Write the seed as an ext4 image at `image` (replacing it atomically)."""
        with tempfile.TemporaryDirectory(prefix="declos-seed-") as tmp:
            root = Path(tmp) / "root"
            (root / "tree").mkdir(parents=True)
            (root / "seed-id").write_text(self.seed_id() + "\n")
            for rel, (content, mode) in self.files().items():
                target = root / "tree" / rel.lstrip("/")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(content)
                target.chmod(mode)
            (root / "tree" / "root").chmod(0o700)
            (root / "tree" / "root" / ".ssh").chmod(0o700)
            partial = image.with_name(image.name + ".partial")
            proc = subprocess.run(
                [
                    "mkfs.ext4",
                    "-q",
                    "-F",
                    "-L",
                    "declos-seed",
                    "-d",
                    str(root),
                    "-E",
                    "root_owner=0:0",
                    str(partial),
                    "8M",
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode != 0:
                raise VirtError(f"seed image: mkfs.ext4 failed: {proc.stderr.strip()}")
            shutil.move(partial, image)
        return image
