"""Probing a machine with OpenSSH instead of paramiko, for no-op redeploys.

A redeploy answered from the evaluation cache only runs one probe command per machine.
Importing paramiko costs more CPU than that whole deploy, so the probe goes through the
`ssh` binary: host keys from the state only (a private known_hosts file,
`StrictHostKeyChecking=yes`, `~/.ssh/known_hosts` neither read nor written, as `declos
ssh` does), batch mode, a connect timeout. Any failure (unreachable, no learnt key, a
changed key) is a `HostError`; the caller then takes the paramiko path, which reports it
properly. `run` is all this host offers.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass

from declos.deploy.interactive import ssh_argv
from declos.deploy.state import Deployment, State
from declos.deploy.targets import MachineTarget
from declos.hosts.errors import HostUnreachable, UnknownHostKey

# curve25519 first, as the deploy's paramiko transport does: OpenSSH 9's default
# post-quantum hybrid (sntrup761x25519) costs ~0.13 s CPU on each side per connection,
# more than the rest of a no-op probe.
KEX = "^curve25519-sha256,curve25519-sha256@libssh.org"


@dataclass(frozen=True)
class ProbeResult:
    returncode: int
    stdout: bytes
    stderr: bytes


class OpenSSHProbe:
    """Runs commands on `target` with `ssh`, trusting only the state's host keys."""

    def __init__(self, state: State, dep: Deployment, target: MachineTarget) -> None:
        self.target = target
        self.name = target.name
        keys = state.host_keys(dep, target.host, target.port)
        if not keys:
            raise UnknownHostKey(target.host, target.port, "(none learnt)")
        host = target.host if target.port == 22 else f"[{target.host}]:{target.port}"
        fd, self.known_hosts = tempfile.mkstemp(prefix="declos-known-hosts-")
        with os.fdopen(fd, "w") as f:
            f.writelines(f"{host} {k.key_type} {k.key_base64}\n" for k in keys)

    def run(self, argv: Sequence[str], *, timeout: float = 60, check: bool = True) -> ProbeResult:
        command = [shlex.join(argv)]
        full = ssh_argv(self.target, self.known_hosts, command)
        full[1:1] = ["-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR"]
        full[1:1] = ["-o", f"KexAlgorithms={KEX}"]
        try:
            proc = subprocess.run(
                full, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL
            )
        except subprocess.TimeoutExpired:
            raise HostUnreachable(self.target.host, self.target.port, "ssh timed out") from None
        if proc.returncode == 255:
            why = proc.stderr.decode(errors="replace").strip() or "ssh failed"
            raise HostUnreachable(self.target.host, self.target.port, why)
        return ProbeResult(proc.returncode, proc.stdout, proc.stderr)

    def close(self) -> None:
        os.unlink(self.known_hosts)
