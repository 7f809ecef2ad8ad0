"""Host keys kept in the deployment state (never in ~/.ssh/known_hosts).

The host layer's `KnownHosts` protocol (lookup/learn) backed by the `host_keys` table of
one deployment. First contact learns the key and prints its fingerprint (for `none`
targets the user can compare it); after that the key is checked strictly, and a changed
key is `HostKeyMismatch`, which the deployer reports with the command that accepts the
new key (`declos forget-host-key -d NAME MACHINE`).

paramiko is loaded through declos.hosts' exports on first use: a no-op redeploy that
probes with OpenSSH (declos.deploy.openssh) never imports it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import declos.hosts
from declos.deploy.state import Deployment, State

if TYPE_CHECKING:
    import paramiko


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
        rows = self.state.host_keys(self.deployment, host, port)
        keys = [declos.hosts.key_from_entry(row.key_type, row.key_base64) for row in rows]
        return [k for k in keys if k is not None]

    def learn(self, host: str, port: int, key: paramiko.PKey) -> None:
        self.state.learn_host_key(self.deployment, host, port, key.get_name(), key.get_base64())
        self.announce(
            f"{host}:{port}: first contact, learnt host key {key.get_name()} {declos.hosts.fingerprint(key)}"
        )
