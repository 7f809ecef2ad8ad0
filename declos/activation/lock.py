"""The single activation lock: two activations at once would interleave their renames.

flock(2) on STATE/activation/lock, non-blocking like switch-to-configuration: a second
run fails at once (exit 1) instead of queueing behind a possibly hung first one. The
kernel drops the lock when the holder dies, so kill -9 never leaves a stale lock.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from declos.activation.errors import LockHeld

__all__ = ["ActivationLock", "LockHeld"]


class ActivationLock:
    """`with ActivationLock(path):` holds the lock or raises LockHeld at once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def __enter__(self) -> ActivationLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LockHeld(
                f"another declos activation is running (lock {self.path} is held)"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
