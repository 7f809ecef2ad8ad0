"""Option path -> where the user defined it (file:line), for the builder's error messages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def definition_sites(ev: Any, path: Sequence[str]) -> list[str]:
    """file:line of each definition of the option at `path` (or of the option set holding
    it, keeping only definitions that mention the next key); [] when unknown."""
    from declos.config.evaluation import Slot

    node: Any = getattr(ev, "tree", None)
    for index, part in enumerate(path):
        if not isinstance(node, dict) or part not in node:
            return []
        child = node[part]
        if isinstance(child, Slot):
            rest = tuple(path[index + 1 :])
            sites: list[str] = []
            for value, module in child.defs:
                if rest and isinstance(value, Mapping) and rest[0] not in value:
                    continue
                where = module.where(_deepest(path, rest, value))
                if where not in sites:
                    sites.append(where)
            return sites
        node = child
    return []


def _deepest(path: Sequence[str], rest: Sequence[str], value: Any) -> tuple[str, ...]:
    """The path down to the first key this definition sets below `path`: a module's
    locator is exact for the keys it wrote, not always for a prefix of a dotted key."""
    sub = value
    for key in rest:
        sub = sub.get(key) if isinstance(sub, Mapping) else None
    full = tuple(path)
    if isinstance(sub, Mapping) and sub:
        full += (str(next(iter(sub))),)
    return full
