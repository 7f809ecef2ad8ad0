"""declos.hosts: one way to talk to a host (local machine, SSH, test VM); see docs/hosts.md.

Exports load on first use (as declos.store's do): `declos.hosts.errors` alone must not
pull in paramiko, so a command that only names the error types (a no-op redeploy probing
with OpenSSH) does not pay for importing it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from declos.hosts.base import ActivationOutcome, CommandResult, Host
    from declos.hosts.errors import (
        AuthenticationFailed,
        CommandFailed,
        CommandTimeout,
        HostError,
        HostKeyMismatch,
        HostUnreachable,
        InvalidCommand,
        UnknownHostKey,
    )
    from declos.hosts.known_hosts import (
        HostKeyPolicy,
        KnownHosts,
        MemoryKnownHosts,
        OpenSSHKnownHosts,
        fingerprint,
        key_from_entry,
    )
    from declos.hosts.local import LocalHost
    from declos.hosts.ssh import SSHHost, ssh_host_from_url
    from declos.store.copy import CopyStats

_EXPORTS = {
    "ActivationOutcome": "declos.hosts.base",
    "CommandResult": "declos.hosts.base",
    "Host": "declos.hosts.base",
    "AuthenticationFailed": "declos.hosts.errors",
    "CommandFailed": "declos.hosts.errors",
    "CommandTimeout": "declos.hosts.errors",
    "HostError": "declos.hosts.errors",
    "HostKeyMismatch": "declos.hosts.errors",
    "HostUnreachable": "declos.hosts.errors",
    "InvalidCommand": "declos.hosts.errors",
    "UnknownHostKey": "declos.hosts.errors",
    "HostKeyPolicy": "declos.hosts.known_hosts",
    "KnownHosts": "declos.hosts.known_hosts",
    "MemoryKnownHosts": "declos.hosts.known_hosts",
    "OpenSSHKnownHosts": "declos.hosts.known_hosts",
    "fingerprint": "declos.hosts.known_hosts",
    "key_from_entry": "declos.hosts.known_hosts",
    "LocalHost": "declos.hosts.local",
    "SSHHost": "declos.hosts.ssh",
    "ssh_host_from_url": "declos.hosts.ssh",
    "CopyStats": "declos.store.copy",
}

__all__ = [
    "ActivationOutcome",
    "AuthenticationFailed",
    "CommandFailed",
    "CommandResult",
    "CommandTimeout",
    "CopyStats",
    "Host",
    "HostError",
    "HostKeyMismatch",
    "HostKeyPolicy",
    "HostUnreachable",
    "InvalidCommand",
    "KnownHosts",
    "LocalHost",
    "MemoryKnownHosts",
    "OpenSSHKnownHosts",
    "SSHHost",
    "UnknownHostKey",
    "fingerprint",
    "key_from_entry",
    "ssh_host_from_url",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'declos.hosts' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
