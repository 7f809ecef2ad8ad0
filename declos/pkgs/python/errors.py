"""The error type of the Python packaging layer: every failure the user can act on."""

from __future__ import annotations

from declos.store.errors import StoreError


class PythonError(StoreError):
    """Locking, fetching, installing or assembling Python distributions failed; the
    message names the file or distribution and says how to fix it."""
