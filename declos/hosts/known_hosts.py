"""Where host keys come from: a `KnownHosts` source and the policy for first contact.

The SSH host asks the source for the keys recorded for (host, port) and compares the key
the server presents: a recorded key that differs is `HostKeyMismatch`; no recorded key
is `UnknownHostKey` under the strict policy, or is learned under accept-new (OpenSSH's
StrictHostKeyChecking=accept-new). Deploy state provides its own source later; the
OpenSSH file and an in-memory source live here.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import os
import threading
from pathlib import Path
from typing import Protocol

import paramiko


class HostKeyPolicy(enum.Enum):
    """What to do with a host that has no recorded key."""

    STRICT = "strict"
    ACCEPT_NEW = "accept_new"


class KnownHosts(Protocol):
    """A source of recorded host keys."""

    def lookup(self, host: str, port: int) -> list[paramiko.PKey]:
        """Every key recorded for host:port (empty when the host is unknown)."""
        ...

    def learn(self, host: str, port: int, key: paramiko.PKey) -> None:
        """Record `key` for host:port (called only for hosts with no recorded key)."""
        ...


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH's SHA256 fingerprint, as `ssh-keygen -lf` prints it."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def key_from_entry(key_type: str, key_base64: str) -> paramiko.PKey | None:
    """The key of a known_hosts entry's type and base64 fields (None if unreadable)."""
    try:
        return paramiko.PKey.from_type_string(key_type, base64.b64decode(key_base64))
    except (paramiko.SSHException, ValueError):
        return None


def entry_name(host: str, port: int) -> str:
    """The known_hosts host field: `host` on port 22, `[host]:port` otherwise."""
    return host if port == 22 else f"[{host}]:{port}"


class MemoryKnownHosts:
    """Keys kept in this object only (tests, and a deployer that persists them itself)."""

    def __init__(self) -> None:
        self._keys: dict[tuple[str, int], list[paramiko.PKey]] = {}
        self._lock = threading.Lock()

    def lookup(self, host: str, port: int) -> list[paramiko.PKey]:
        with self._lock:
            return list(self._keys.get((host, port), ()))

    def learn(self, host: str, port: int, key: paramiko.PKey) -> None:
        with self._lock:
            self._keys.setdefault((host, port), []).append(key)


class OpenSSHKnownHosts:
    """An OpenSSH known_hosts file (hashed entries included), re-read on every lookup.

    Re-reading keeps several hosts and processes that append to one file consistent;
    learning appends one line, creating the file (and its directory) if needed.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def lookup(self, host: str, port: int) -> list[paramiko.PKey]:
        keys = paramiko.HostKeys()
        try:
            keys.load(str(self.path))
        except FileNotFoundError:
            return []
        found = keys.lookup(entry_name(host, port))
        return list(found.values()) if found is not None else []

    def learn(self, host: str, port: int, key: paramiko.PKey) -> None:
        line = f"{entry_name(host, port)} {key.get_name()} {key.get_base64()}\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="ascii") as handle:
                handle.write(line)
