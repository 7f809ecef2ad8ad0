"""The activator's error types: one base, one subclass per thing that can go wrong.

Callers catch exactly the failures they can report (`except UsersError`), never a
bare `Exception`, so a bug in the activator surfaces as a bug instead of being
printed as if it were a problem with the host.
"""

from __future__ import annotations


class ActivationError(Exception):
    """Base of every expected activation failure; the message is for the user."""


class ClosureError(ActivationError):
    """The --system path is not a usable declos system closure."""


class RootError(ActivationError):
    """`--root DIR` is not a tree activation can work in (refused before any write)."""


class RefusedError(ActivationError):
    """The plan cannot be carried out safely here (nothing was changed)."""


class UsersError(ActivationError):
    """Users or groups that cannot be applied (duplicate ids, missing groups, ...)."""


class EtcConflict(ActivationError):
    """Paths under /etc declos would have to overwrite but does not own."""


class FirewallError(ActivationError):
    """`nft` refused the ruleset or is missing while the firewall is enabled."""


class MountError(ActivationError):
    """A device to format is missing or mkfs/blkid failed."""


class BootloaderError(ActivationError):
    """The boot menu cannot be written (e.g. a custom.cfg declos does not own)."""


class LockHeld(ActivationError):
    """Another activation holds the lock."""
