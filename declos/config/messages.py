"""The shared pieces of evaluation error messages: option paths, definition lists,
"Did you mean" suggestions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from declos.config.render import quote_name, render_short


class Site(Protocol):
    """Where a definition came from; resolved to file:line only when a message needs it."""

    def where(self, path: Sequence[str]) -> str: ...


Definition = tuple[Any, Any]
"""(value, module): the module is a `Site` (a `declos.config.modules.Module`)."""


_PLACEHOLDERS = frozenset({"<name>", "*", "<function body>"})
"""Path parts NixOS's showOption prints unquoted."""


def show_path(path: Sequence[str]) -> str:
    return ".".join(quote_name(p) if p not in _PLACEHOLDERS else p for p in path)


def show_defs(defs: Iterable[Definition], path: Sequence[str]) -> str:
    """The "Definition values" block: one `- In `file:line': value` line per definition."""
    out = []
    for value, module in defs:
        out.append(f"\n- In `{module.where(path)}': {render_short(value)}")
    return "".join(out)


def levenshtein(a: str, b: str) -> int:
    if a == b:
        return 0
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def did_you_mean(name: str, candidates: Iterable[str], prefix: Sequence[str]) -> str:
    """NixOS's suggestion: the 3 nearest names, nearest first, ties in name order (only
    distance <= 2 among >= 100 names); `_module` (the evaluation's settings) is never one."""
    names = sorted(set(candidates) - {"_module"})
    if not names:
        return ""
    scored = sorted((levenshtein(name, c), c) for c in names)
    if len(names) >= 100:
        scored = [s for s in scored if s[0] <= 2]
    best = [c for _, c in scored[:3]]
    if not best:
        return ""
    shown = [f"`{show_path([*prefix, c])}'" for c in best]
    if len(shown) == 1:
        return f"\n\nDid you mean {shown[0]}?"
    return "\n\nDid you mean " + ", ".join(shown[:-1]) + f" or {shown[-1]}?"
