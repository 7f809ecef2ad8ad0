"""The error type of the Python packaging layer: every failure the user can act on, and
the reading of a user's text file into one."""

from __future__ import annotations

from pathlib import Path

from declos.store.errors import StoreError


class PythonError(StoreError):
    """Locking, fetching, installing or assembling Python distributions failed; the
    message names the file or distribution and says how to fix it."""


def read_user_text(path: Path, what: str = "") -> str:
    """`path` as UTF-8 text; a missing or unreadable file, or bytes that are not UTF-8,
    is a PythonError naming the file (and `what` it was meant to be)."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        noun = f" {what}" if what else ""
        raise PythonError(f"{path}: cannot read{noun}: {exc.strerror}") from None
    except UnicodeDecodeError:
        subject = f"{what} is " if what else ""
        raise PythonError(f"{path}:1: {subject}not UTF-8 text") from None
