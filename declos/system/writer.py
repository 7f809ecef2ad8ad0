"""Where the renderers put the files they generate: text files and scripts in the store.

Renderers only need two operations, so they take this small interface instead of the
whole Store; references are found by scanning the text for store paths, which is how a
Nix string's context makes `writeText` depend on what it mentions.
"""

from __future__ import annotations

import os
import re
import tempfile
from typing import Protocol


class Writer(Protocol):
    store_dir: str

    def text(self, name: str, text: str) -> str:
        """Add a text file (Nix writeText); returns its store path."""
        ...

    def script(self, name: str, text: str, store_name: str | None = None) -> str:
        """Add an executable STORE/..-STORE_NAME/bin/NAME (writeShellScriptBin); returns the file."""
        ...


def store_path_pattern(store_dir: str) -> re.Pattern[str]:
    return re.compile(re.escape(store_dir.rstrip("/")) + r"/[0-9a-df-np-sv-z]{32}-[0-9a-zA-Z+\-._?=]+")


def safe_name(name: str) -> str:
    """A store path name from a free-form one: forbidden characters become '_'."""
    cleaned = re.sub(r"[^0-9a-zA-Z+\-._?=]", "_", name).lstrip(".")
    return cleaned[:200] or "unnamed"


def mentioned_paths(text: str, store_dir: str) -> list[str]:
    """Top-level store paths mentioned in text, sorted and deduplicated."""
    return sorted(set(store_path_pattern(store_dir).findall(text)))


class StoreWriter:
    """A Writer over a real declos Store; remembers every path it added (the closure's inputs)."""

    def __init__(self, store: object) -> None:
        self.store = store
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
        with tempfile.TemporaryDirectory(prefix="declos-tree-") as tmp:
            root = os.path.join(tmp, name)
            refs: set[str] = set()
            for rel, (content, executable) in files.items():
                dest = os.path.join(root, rel)
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                with open(dest, "w", encoding="utf-8") as handle:
                    handle.write(content)
                os.chmod(dest, 0o755 if executable else 0o644)
                refs.update(mentioned_paths(content, self.store_dir))
            path = self.store.add_path(root, name=safe_name(name), scan_references=sorted(refs))  # type: ignore[attr-defined]
        self.added.add(path)
        return path
