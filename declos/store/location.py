"""Where the logical store and state live.

Kept tiny and import-free because the module system (to type-check `package` values)
and the store both need it, and `declos eval` must not pay for importing the store.
"""

from __future__ import annotations

import os

DEFAULT_STORE_DIR = "/declos/store"
DEFAULT_STATE_DIR = "/declos/var"


def store_dir() -> str:
    """The logical store directory: paths are named after it wherever they physically are."""
    return os.environ.get("DECLOS_STORE_DIR", DEFAULT_STORE_DIR).rstrip("/") or "/"


def state_dir() -> str:
    """The logical state directory (database, profiles, gcroots, locks)."""
    return os.environ.get("DECLOS_STATE_DIR", DEFAULT_STATE_DIR).rstrip("/") or "/"


def is_store_path(value: str, store: str | None = None) -> bool:
    """True for STORE/HASH-NAME (or a path below one); cheap syntactic check only."""
    prefix = (store or store_dir()) + "/"
    if not value.startswith(prefix):
        return False
    base = value[len(prefix) :].split("/", 1)[0]
    return len(base) > 33 and base[32] == "-"
