"""Host keys kept in the deployment state (never in ~/.ssh/known_hosts).

The host layer's `KnownHosts` protocol (lookup/learn) backed by the `host_keys` table of
one deployment. First contact learns the key and prints its fingerprint (for `none`
targets the user can compare it); after that the key is checked strictly, and a changed
key is `HostKeyMismatch`, which the deployer reports with the command that accepts the
new key (`declos forget-host-key -d NAME MACHINE`).
"""

from __future__ import annotations

import base64
import hashlib
import sys
from collections.abc import Callable

import paramiko

from declos.deploy.state import Deployment, State


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH's SHA256 fingerprint, as `ssh-keygen -lf` prints it."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


class StateKnownHosts:
    """KnownHosts over the state's `host_keys` table of one deployment."""

    def __init__(
        self,
        state: State,
        deployment: Deployment,
        announce: Callable[[str], None] | None = None,
    ) -> None:
        self.state = state
        self.deployment = deployment
        self.announce = announce or (lambda line: print(line, file=sys.stderr))

    def lookup(self, host: str, port: int) -> list[paramiko.PKey]:
        keys = []
        for row in self.state.host_keys(self.deployment, host, port):
            try:
                keys.append(
                    paramiko.PKey.from_type_string(row.key_type, base64.b64decode(row.key_base64))
                )
            except (paramiko.SSHException, ValueError):
                continue
        return keys

    def learn(self, host: str, port: int, key: paramiko.PKey) -> None:
        self.state.learn_host_key(self.deployment, host, port, key.get_name(), key.get_base64())
        self.announce(
            f"{host}:{port}: first contact, learnt host key {key.get_name()} {fingerprint(key)}"
        )
