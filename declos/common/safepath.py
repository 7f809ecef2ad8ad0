"""Paths confined to a base directory, like openat2(2) with RESOLVE_IN_ROOT.

Activation into `--root DIR` and the builder's staging tree must never write outside
their base, whatever the configuration or the tree contains. `safe_join` resolves a
path component by component *inside* the base: an absolute symlink is re-rooted at the
base (as a chroot would see it), a relative one is followed from where it sits, and any
`..` (in the argument or in a link) that would climb above the base is refused with
`PathEscape` rather than silently clamped, so a hostile value is reported, not obeyed.

The check is a resolution, not a lock: a process that can change the tree between the
check and the use can still race it. declos runs as root over trees that only root
writes, so that race needs root already.
"""

from __future__ import annotations

import os
from pathlib import Path

MAX_SYMLINKS = 40  # as the kernel's MAXSYMLINKS


class PathEscape(Exception):
    """A path would leave its base directory (through `..` or a symlink)."""

    def __init__(self, base: str | os.PathLike[str], relative: str, why: str) -> None:
        super().__init__(f"{relative!r} escapes {os.fspath(base)}: {why}")
        self.base = os.fspath(base)
        self.relative = relative
        self.why = why


def safe_join(base: str | os.PathLike[str], relative: str, *, follow_final: bool = True) -> Path:
    """`base/relative` with every symlink resolved inside `base`; raises PathEscape.

    `relative` may start with `/` (it is then relative to base, as a path inside a
    chroot is). With `follow_final=False` a symlink in the last component is not
    followed (the caller replaces or removes the link itself). Missing components are
    fine: the result is where the path would be created."""
    root = Path(base)
    pending = [p for p in relative.split("/") if p and p != "."]
    pending.reverse()  # a stack: the next component is at the end
    resolved: list[str] = []
    links = 0
    while pending:
        part = pending.pop()
        if part == "..":
            if not resolved:
                raise PathEscape(base, relative, "'..' climbs above the base")
            resolved.pop()
            continue
        here = root.joinpath(*resolved, part)
        if (not pending and not follow_final) or not here.is_symlink():
            resolved.append(part)
            continue
        links += 1
        if links > MAX_SYMLINKS:
            raise PathEscape(base, relative, "too many levels of symbolic links")
        target = os.readlink(here)
        if target.startswith("/"):
            resolved = []
        more = [p for p in target.split("/") if p and p != "."]
        pending.extend(reversed(more))
    return root.joinpath(*resolved)


def is_inside(base: str | os.PathLike[str], relative: str) -> bool:
    """True when `relative` resolves inside `base` (see safe_join)."""
    try:
        safe_join(base, relative)
    except PathEscape:
        return False
    return True
