"""Where the logical store and state live: defined once in `declos.common.paths`.

Kept as the store's name for it, import-free apart from that, because the module
system (to type-check `package` values) imports it and `declos eval` must not pay for
importing the store.
"""

from __future__ import annotations

from declos.common.paths import (
    DEFAULT_STATE_DIR,
    DEFAULT_STORE_DIR,
    is_store_path,
    state_dir,
    store_dir,
)

__all__ = ["DEFAULT_STATE_DIR", "DEFAULT_STORE_DIR", "is_store_path", "state_dir", "store_dir"]
