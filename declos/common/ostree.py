"""What makes a directory a tree `switch --root DIR` may activate into.

Checked by the CLI before it builds anything and by the activator before it takes its
lock, so a typo in --root is refused before a store, a state directory or a single file
appears under it (issue 8 item 10). An OS tree is a directory holding the account
databases activation edits: without them users and /etc ownership cannot be applied,
and a half-activated tree is worse than none.
"""

from __future__ import annotations

import os

from declos.common.safepath import PathEscape, safe_join

OS_TREE_FILES = ("etc/passwd", "etc/group")


class NotAnOsTree(Exception):
    """--root names something activation cannot work in."""


def check_os_tree(root: str, given: str | None = None) -> None:
    """Raise NotAnOsTree unless `root` is a directory with etc/passwd and etc/group;
    `given` is how the user spelled it (for the message)."""
    shown = given if given is not None else root
    if not os.path.isdir(root):
        what = "is not a directory" if os.path.lexists(root) else "does not exist"
        raise NotAnOsTree(
            f"--root {shown} {what}; --root activates into an existing system tree"
            " (for example one made with mmdebstrap)"
        )
    missing = [f for f in OS_TREE_FILES if not _is_file_inside(root, f)]
    if missing:
        raise NotAnOsTree(
            f"--root {shown}: {', '.join(missing)} missing (symlinks in the tree resolve inside"
            " it, as in a chroot); --root activates into an existing system tree (for example one made with mmdebstrap); nothing was changed"
        )


def _is_file_inside(root: str, relative: str) -> bool:
    """A regular file at `relative` with symlinks resolved inside `root`, as activation
    will resolve them: an `etc` that links out of the tree does not count."""
    try:
        return safe_join(root, relative).is_file()
    except PathEscape:
        return False
