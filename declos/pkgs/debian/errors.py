"""The error type of the Debian package layer: every failure the user can act on."""

from __future__ import annotations

from declos.store.errors import StoreError


class DebianError(StoreError):
    """Locking, fetching, unpacking or fixing up a Debian package failed; the message says how to fix it."""


class NotInLock(DebianError):
    """A configuration used a Debian package that `declos.lock` does not pin."""
