"""`declos ssh MACHINE`: an interactive OpenSSH session that trusts only the state's host key.

The key learnt at first contact is written to a private temporary known_hosts file and
OpenSSH runs with StrictHostKeyChecking=yes against it alone, so `~/.ssh/known_hosts` is
neither read nor written. Without a learnt key the user is told to deploy (or `check`) first.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Sequence

from declos.deploy.errors import DeployError
from declos.deploy.state import Deployment, State
from declos.deploy.targets import MachineTarget


def ssh_argv(target: MachineTarget, known_hosts: str, command: Sequence[str]) -> list[str]:
    argv = ["ssh", "-p", str(target.port), "-o", f"UserKnownHostsFile={known_hosts}"]
    argv += ["-o", "StrictHostKeyChecking=yes", "-o", "GlobalKnownHostsFile=/dev/null"]
    if target.key_file:
        argv += ["-i", target.key_file, "-o", "IdentitiesOnly=yes"]
    argv += [f"{target.user}@{target.host}"]
    if command:
        argv += ["--", *command]
    return argv


def exec_ssh(state: State, dep: Deployment, target: MachineTarget, command: Sequence[str]) -> int:
    keys = state.host_keys(dep, target.host, target.port)
    if not keys:
        raise DeployError(
            f"no host key of {target.name} ({target.host}:{target.port}) is known yet; "
            f"run `declos check -d {dep.name} --include {target.name}` to make first contact"
        )
    name = target.host if target.port == 22 else f"[{target.host}]:{target.port}"
    with tempfile.NamedTemporaryFile("w", prefix="declos-known-hosts-", delete=True) as f:
        for k in keys:
            f.write(f"{name} {k.key_type} {k.key_base64}\n")
        f.flush()
        os.chmod(f.name, 0o600)
        return subprocess.run(
            ssh_argv(target, f.name, [c for c in command if c != "--"])
        ).returncode
