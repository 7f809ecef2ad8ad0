"""A memo of (in-memory tree -> store path) so an unchanged tree is not staged again.

Adding a directory to the store means writing it out, serialising it as a NAR and
hashing it, only to find on a warm build that the path is already valid; on a loaded
disk that dominated the warm build. The path is a pure function of the tree (files with
their text and executable bit, symlinks with their targets), its name, the store dir
and the reference candidates, so the memo keys a SHA-256 of exactly those and trusts an
entry only while its path is still valid in the store (GC'd paths are simply rebuilt).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from typing import Any

from declos.common.safepath import PathEscape, safe_join
from declos.system.errors import RenderError

# A tree: relative path -> ("file", text, executable) | ("link", target). Directories
# are implied by the paths (empty ones are not representable; none are needed).
Tree = dict[str, tuple[Any, ...]]


def tree_key(name: str, tree: Tree, refs: list[str], store_dir: str) -> str:
    canonical = json.dumps(
        [name, store_dir, sorted(refs), sorted(tree.items())], separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def write_tree(tree: Tree, root: str) -> None:
    """Materialise a tree under `root` (created). Every path goes through `safe_join`, so
    no name in the tree (a unit, an /etc target, a snippet) can write outside `root`."""
    os.makedirs(root, exist_ok=True)
    for rel in sorted(tree):
        entry = tree[rel]
        try:
            dest = str(safe_join(root, rel, follow_final=False))
        except PathEscape as exc:
            raise RenderError(
                f"refusing to write {rel!r}: it escapes the tree ({exc.why})"
            ) from None
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        if entry[0] == "link":
            os.symlink(entry[1], dest)
        else:
            with open(dest, "w", encoding="utf-8") as handle:
                handle.write(entry[1])
            os.chmod(dest, 0o755 if entry[2] else 0o644)


class Memo:
    """The memo file STATE/cache/system-trees.json for one store (loaded once, saved once)."""

    VERSION = 1

    def __init__(self, store: Any) -> None:
        self.store = store
        self.file = os.path.join(store.physical_state, "cache", "system-trees.json")
        self.entries: dict[str, str] = {}
        self.dirty = False
        try:
            with open(self.file, encoding="utf-8") as handle:
                data = json.load(handle)
            if data.get("version") == self.VERSION:
                self.entries = dict(data.get("trees") or {})
        except (OSError, ValueError, AttributeError):
            self.entries = {}

    def get(self, key: str) -> str | None:
        path = self.entries.get(key)
        if path is not None and self.store.is_valid(path):
            return path
        return None

    def put(self, key: str, path: str) -> None:
        if self.entries.get(key) != path:
            self.entries[key] = path
            self.dirty = True

    def save(self) -> None:
        """Write the memo atomically, keeping only entries whose paths are still valid."""
        if not self.dirty:
            return
        valid = self.store.valid_subset(set(self.entries.values()))
        keep = {k: p for k, p in self.entries.items() if p in valid}
        os.makedirs(os.path.dirname(self.file), exist_ok=True)
        # pid and thread: deploy builds several machines at once in one process.
        temp = f"{self.file}.tmp{os.getpid()}-{threading.get_ident()}"
        with open(temp, "w", encoding="utf-8") as handle:
            json.dump({"version": self.VERSION, "trees": keep}, handle, sort_keys=True)
        os.replace(temp, self.file)
        self.dirty = False
