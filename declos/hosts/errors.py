"""Failures of talking to a host, one type per cause so callers decide by type.

Host-key problems in particular are told apart by class (never by matching a message):
a deployer must stop on `HostKeyMismatch` (possible interception) but may retry a
`HostUnreachable` (a host still booting).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from declos.hosts.base import CommandResult


class HostError(Exception):
    """Base class of every host-layer failure."""


class InvalidCommand(HostError):
    """A command that cannot be sent as asked (an empty argv, a bad variable name)."""


class HostUnreachable(HostError):
    """No SSH session could be set up (refused, timed out, dropped, no banner)."""

    def __init__(self, host: str, port: int, reason: str) -> None:
        self.host = host
        self.port = port
        self.reason = reason
        super().__init__(f"cannot connect to {host}:{port}: {reason}")


class AuthenticationFailed(HostUnreachable):
    """The host answered but refused our key (wrong key, user or authorized_keys)."""

    def __init__(self, host: str, port: int, user: str, reason: str) -> None:
        self.user = user
        super().__init__(host, port, f"authentication as {user!r} failed: {reason}")


class UnknownHostKey(HostError):
    """Strict policy and the host's key is not in the known-hosts source."""

    def __init__(self, host: str, port: int, fingerprint: str) -> None:
        self.host = host
        self.port = port
        self.fingerprint = fingerprint
        super().__init__(
            f"host {host}:{port} is not known (its key is {fingerprint}); verify the key and "
            "add it to the known hosts, or allow first contact with the accept-new policy"
        )


class HostKeyMismatch(HostError):
    """The host presented a key other than the one recorded for it: refuse, always."""

    def __init__(
        self, host: str, port: int, expected_fingerprint: str, got_fingerprint: str
    ) -> None:
        self.host = host
        self.port = port
        self.expected_fingerprint = expected_fingerprint
        self.got_fingerprint = got_fingerprint
        super().__init__(
            f"host key for {host}:{port} does NOT match the recorded one "
            f"(expected {expected_fingerprint}, got {got_fingerprint}); someone may be "
            "intercepting the connection; if the host was reinstalled, remove the old key"
        )


class CommandFailed(HostError):
    """A command checked for success exited non-zero; `.result` has its output."""

    def __init__(self, host: str, result: CommandResult) -> None:
        self.host = host
        self.result = result
        err = result.stderr.decode(errors="replace").strip()
        tail = "\n".join(err.splitlines()[-10:])
        super().__init__(
            f"{host}: {' '.join(result.argv)!r} exited with {result.returncode}"
            + (f":\n{tail}" if tail else "")
        )


class CommandTimeout(HostError):
    """A command (or a stream to it) made no progress within its timeout; it was abandoned."""

    def __init__(self, host: str, argv: tuple[str, ...], timeout: float) -> None:
        self.host = host
        self.argv = argv
        self.timeout = timeout
        super().__init__(f"{host}: {' '.join(argv)!r} did not finish within {timeout:g} s")
