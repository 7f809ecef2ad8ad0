"""Read-only questions about a store that do not open it: where a path is, whether it is valid.

`Store.open` creates directories and sets up the database; a one-shot read such as
`declos store dump` (timed against `nix-store --dump`) needs neither, so this module
imports only path parsing and the read-only database query.
"""

from __future__ import annotations

import os

from declos.store import location
from declos.store.errors import StoreError
from declos.store.paths import split_store_path
from declos.store.schema import db_file, is_valid_readonly


def locate_valid(given: str, root: str | None = None) -> tuple[str, str]:
    """The valid top-level store path `given` names, and the physical path to read.

    `given` may be a logical store path or a path below one, a link to one outside the
    store (a `result` link), or a physical path under `root`. Raises StoreError when the
    path is not registered as valid (a half-written path never is)."""
    prefix = os.path.abspath(root) if root else ""
    store_dir = location.store_dir().rstrip("/") or "/"
    state_dir = location.state_dir().rstrip("/") or "/"
    physical_store = prefix + store_dir
    logical = given
    if os.path.islink(logical) and not logical.startswith(store_dir + "/"):
        logical = os.readlink(logical)
    if prefix and logical.startswith(physical_store + "/"):
        logical = store_dir + logical[len(physical_store) :]
    top = split_store_path(logical, store_dir)[0]
    if not is_valid_readonly(db_file(prefix + state_dir), top):
        raise StoreError(f"path '{top}' is not valid")
    return top, prefix + (given if given.startswith(store_dir) else top)
