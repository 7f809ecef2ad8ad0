"""Names of places: file paths as shown to users, and dotted option paths split into parts.

A leaf of the config package (it imports nothing from it), so every layer can show
locations the same way.
"""

from __future__ import annotations

import os


def display_path(path: str | os.PathLike[str]) -> str:
    """Paths below the working directory are shown relative, the rest absolute."""
    text = os.fspath(path)
    if text.startswith("<"):
        return text
    try:
        rel = os.path.relpath(text)
    except ValueError:
        return text
    return text if rel.startswith("..") else rel


def split_key(key: str) -> list[str]:
    """A dotted option key: `a.b."c.d".e` -> [a, b, c.d, e]."""
    if '"' not in key:
        return key.split(".")
    parts: list[str] = []
    current = ""
    quoted = False
    for ch in key:
        if ch == '"':
            quoted = not quoted
        elif ch == "." and not quoted:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return parts


def split_path(path: str) -> list[str]:
    """`a.b."c.d".e` -> [a, b, c.d, e]; the empty path is the whole configuration."""
    return [p for p in split_key(path) if p] if path else []
