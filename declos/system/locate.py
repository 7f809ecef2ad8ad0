"""Option path -> where the user defined it (file:line), for the builder's error messages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def definition_sites(ev: Any, path: Sequence[str]) -> list[str]:
    """file:line of each definition of the option at `path` (or of the option set holding
    it, keeping only definitions that mention the next key); [] when unknown."""
    sites: list[str] = ev.definition_sites(path)
    return sites
