"""Debian version comparison, exactly dpkg's algorithm (deb-version(7)).

A version is `[epoch:]upstream[-revision]`; parts compare alternately as non-digit runs
(letters sort before non-letters, `~` before everything, even the end) and numbers.
Written here rather than imported because the resolver compares versions hundreds of
thousands of times while building an index and python-debian's Version is 10x slower.
"""

from __future__ import annotations

import functools
import re

_PARTS = re.compile(r"(\d+)|(\D+)")


def _order(c: str) -> int:
    if c == "~":
        return -1
    if c.isalpha():
        return ord(c)
    return ord(c) + 256


def _cmp_part(a: str, b: str) -> int:
    """dpkg's verrevcmp on one of upstream/revision."""
    i = j = 0
    while i < len(a) or j < len(b):
        first_diff = 0
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ac = _order(a[i]) if i < len(a) and not a[i].isdigit() else 0
            bc = _order(b[j]) if j < len(b) and not b[j].isdigit() else 0
            if ac != bc:
                return ac - bc
            i += 1
            j += 1
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        while i < len(a) and a[i].isdigit() and j < len(b) and b[j].isdigit():
            if not first_diff:
                first_diff = ord(a[i]) - ord(b[j])
            i += 1
            j += 1
        if i < len(a) and a[i].isdigit():
            return 1
        if j < len(b) and b[j].isdigit():
            return -1
        if first_diff:
            return first_diff
    return 0


@functools.lru_cache(maxsize=65536)
def _split(v: str) -> tuple[int, str, str]:
    epoch = 0
    if ":" in v:
        e, v = v.split(":", 1)
        epoch = int(e) if e.isdigit() else 0
    upstream, sep, revision = v.rpartition("-")
    if not sep:
        upstream, revision = v, ""
    return epoch, upstream, revision


def compare(a: str, b: str) -> int:
    """<0, 0, >0 as dpkg --compare-versions a lt/eq/gt b."""
    if a == b:
        return 0
    ea, ua, ra = _split(a)
    eb, ub, rb = _split(b)
    if ea != eb:
        return ea - eb
    return _cmp_part(ua, ub) or _cmp_part(ra, rb)


def satisfies(version: str, op: str, wanted: str) -> bool:
    """Does `version` satisfy the relation `op wanted` (<<, <=, =, >=, >>)?"""
    c = compare(version, wanted)
    if op == ">=":
        return c >= 0
    if op == "<=":
        return c <= 0
    if op == "=":
        return c == 0
    if op == ">>":
        return c > 0
    if op == "<<":
        return c < 0
    if op in ("<", ">"):  # obsolete forms, as dpkg reads them
        return c <= 0 if op == "<" else c >= 0
    raise ValueError(f"unknown version relation {op!r}")
