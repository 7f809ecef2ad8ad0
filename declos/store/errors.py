"""The one exception type the store raises, so callers can catch store failures apart from bugs."""

from __future__ import annotations


class StoreError(Exception):
    """A store operation failed for a reason the user can act on (message says how)."""


class BuildError(StoreError):
    """A derivation's builder failed; the message names the derivation and the log file."""
