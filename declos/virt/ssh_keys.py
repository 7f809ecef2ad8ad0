"""SSH key material the harness generates for each VM.

Both sides of the first connection are decided before the VM boots: the client key
(root's authorized key) and the host key (the VM's sshd identity). Because the host key
is known in advance, the first connection already checks it strictly, with a
known_hosts file we write ourselves (never `accept-new`, never ~/.ssh/known_hosts).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


@dataclass(frozen=True)
class KeyPair:
    """An ed25519 key pair in OpenSSH formats."""

    private_openssh: str
    public_openssh: str  # "ssh-ed25519 AAAA... comment"

    @classmethod
    def generate(cls, comment: str) -> KeyPair:
        key = Ed25519PrivateKey.generate()
        private = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        ).decode()
        public = (
            key.public_key()
            .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
            .decode()
        )
        return cls(private, f"{public} {comment}")

    @classmethod
    def load(cls, private_path: Path) -> KeyPair:
        return cls(private_path.read_text(), Path(str(private_path) + ".pub").read_text().strip())

    def write(self, private_path: Path) -> None:
        """Write PATH (0600) and PATH.pub, as ssh-keygen would."""
        private_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(self.private_openssh)
        Path(str(private_path) + ".pub").write_text(self.public_openssh + "\n")

    @property
    def public_key_only(self) -> str:
        """'ssh-ed25519 AAAA...' without the comment, as known_hosts wants it."""
        return " ".join(self.public_openssh.split()[:2])


def known_hosts_line(host: str, port: int, host_key: KeyPair) -> str:
    """One known_hosts entry; non-22 ports use OpenSSH's `[host]:port` form."""
    name = host if port == 22 else f"[{host}]:{port}"
    return f"{name} {host_key.public_key_only}\n"
