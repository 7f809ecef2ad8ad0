"""Where the renderers put the files they generate: text files and scripts in the store.

Renderers only need two operations, so they take this small interface instead of the
whole Store; references are found by scanning the text for store paths, which is how a
Nix string's context makes `writeText` depend on what it mentions.
"""

from __future__ import annotations

import os
import re
import tempfile
from typing import Any, Protocol

from declos.system.memo import Memo, Tree, tree_key, write_tree


class Writer(Protocol):
    store_dir: str

    def text(self, name: str, text: str) -> str:
        """Add a text file (Nix writeText); returns its store path."""
        ...

    def script(self, name: str, text: str, store_name: str | None = None) -> str:
        """Add an executable STORE/..-STORE_NAME/bin/NAME (writeShellScriptBin); returns the file."""
        ...


def store_path_pattern(store_dir: str) -> re.Pattern[str]:
    return re.compile(
        re.escape(store_dir.rstrip("/")) + r"/[0-9a-df-np-sv-z]{32}-[0-9a-zA-Z+\-._?=]+"
    )


def safe_name(name: str) -> str:
    """A store path name from a free-form one: forbidden characters become '_'."""
    cleaned = re.sub(r"[^0-9a-zA-Z+\-._?=]", "_", name).lstrip(".")
    return cleaned[:200] or "unnamed"


def mentioned_paths(text: str, store_dir: str) -> list[str]:
    """Top-level store paths mentioned in text, sorted and deduplicated."""
    return sorted(set(store_path_pattern(store_dir).findall(text)))


class StoreWriter:
    """A Writer over a real declos Store; remembers every path it added (the closure's inputs).

    With a Memo, a tree added before is found without being written out again."""

    def __init__(self, store: object, memo: Memo | None = None) -> None:
        self.store = store
        self.memo = memo
        self.store_dir: str = store.store_dir  # type: ignore[attr-defined]
        self.added: set[str] = set()

    def text(self, name: str, text: str) -> str:
        refs = mentioned_paths(text, self.store_dir)
        path = self.store.add_text(safe_name(name), text, references=refs)  # type: ignore[attr-defined]
        self.added.add(path)
        return path

    def script(self, name: str, text: str, store_name: str | None = None) -> str:
        return self.tree(store_name or name, {f"bin/{name}": (text, True)}) + f"/bin/{name}"

    def tree(self, name: str, files: dict[str, tuple[str, bool]]) -> str:
        """Add a directory of text files {relpath: (text, executable)} as one store path."""
        layout: Tree = {
            rel: ("file", content, executable) for rel, (content, executable) in files.items()
        }
        refs: set[str] = set()
        for content, _executable in files.values():
            refs.update(mentioned_paths(content, self.store_dir))
        path = add_tree(self.store, safe_name(name), layout, sorted(refs), self.memo)
        self.added.add(path)
        return path


def add_tree(store: Any, name: str, layout: Tree, refs: list[str], memo: Memo | None) -> str:
    """The store path of `layout` added under `name`, scanning for `refs`; memoised."""
    key = tree_key(name, layout, refs, store.store_dir)
    if memo is not None:
        known = memo.get(key)
        if known is not None:
            return known
    with tempfile.TemporaryDirectory(prefix="declos-tree-") as tmp:
        root = os.path.join(tmp, name)
        write_tree(layout, root)
        path = str(store.add_path(root, name=name, scan_references=refs))
    if memo is not None:
        memo.put(key, path)
    return path
