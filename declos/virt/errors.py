"""Errors of the VM layer."""

from __future__ import annotations


class VirtError(Exception):
    """An image, domain or network operation failed; the message says what and why."""
