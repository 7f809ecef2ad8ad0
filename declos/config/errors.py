"""Evaluation errors and the shared pieces of their messages.

Every message names the option path, lists each relevant definition with file:line and
ends with a hint, so the user can fix the input without reading declos' source.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from declos.config.render import render_short

if TYPE_CHECKING:
    from declos.config.modules import Module


class EvaluationError(Exception):
    """A user-facing evaluation error; `str(e)` is the complete message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class MissingAttributeError(EvaluationError, AttributeError, KeyError):
    """Reading a name that is neither declared nor defined.

    It is also an AttributeError/KeyError so that `hasattr`, `getattr(x, n, d)`, `.get()`
    and Jinja's attribute lookup treat it as "absent".
    """

    def __str__(self) -> str:
        return self.message


def show_path(path: Sequence[str]) -> str:
    from declos.config.render import quote_name

    return ".".join(quote_name(p) if p not in ("<name>", "*") else p for p in path)


Definition = tuple[Any, "Module"]
"""(value, module): where the value came from is resolved to file:line only on error."""


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
    """NixOS's suggestion: the 3 nearest names (only distance <= 2 among >= 100)."""
    names = sorted(set(candidates))
    if not names:
        return ""
    scored = sorted((levenshtein(name, c), c) for c in names)
    if len(names) >= 100:
        scored = [s for s in scored if s[0] <= 2]
    best = sorted(c for _, c in scored[:3])
    if not best:
        return ""
    shown = [f"`{show_path([*prefix, c])}'" for c in best]
    if len(shown) == 1:
        return f"\n\nDid you mean {shown[0]}?"
    return "\n\nDid you mean " + ", ".join(shown[:-1]) + f" or {shown[-1]}?"
