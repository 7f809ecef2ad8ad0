"""The one exception type the store raises, so callers can catch store failures apart from bugs."""

from __future__ import annotations


class StoreError(Exception):
    """A store operation failed for a reason the user can act on (message says how)."""


class NotAStorePath(StoreError):
    """A path that is not (inside) a store path of this store."""


class PathNotValid(StoreError):
    """A store path the database does not list as valid (absent, or a half-written copy)."""


class BuildError(StoreError):
    """A derivation's builder failed; the message names the derivation and the log file."""
