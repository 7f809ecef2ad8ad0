"""declos.hosts: one way to talk to a host (local machine, SSH, test VM); see docs/hosts.md."""

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
)
from declos.hosts.local import LocalHost
from declos.hosts.ssh import SSHHost, ssh_host_from_url
from declos.store.copy import CopyStats

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
    "ssh_host_from_url",
]
