"""Where the logical store and state live.

Store paths and the state directory are *logical* names: what links, unit files and
the database say, wherever the files physically are (an image built with --root keeps
naming /declos/store so it boots). DECLOS_STORE_DIR / DECLOS_STATE_DIR move them.
Kept tiny and import-free because the module system, the store and the activator all
need it.
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
