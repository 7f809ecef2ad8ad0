"""What makes a directory a tree `switch --root DIR` may activate into.

Checked by the CLI before it builds anything and by the activator before it takes its
lock, so a typo in --root is refused before a store, a state directory or a single file
appears under it (issue 8 item 10). An OS tree is a directory holding the account
databases activation edits: without them users and /etc ownership cannot be applied,
and a half-activated tree is worse than none.
"""

from __future__ import annotations

import os

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
    missing = [f for f in OS_TREE_FILES if not os.path.isfile(os.path.join(root, f))]
    if missing:
        raise NotAnOsTree(
            f"--root {shown}: {', '.join(missing)} missing; --root activates into an existing"
            " system tree (for example one made with mmdebstrap); nothing was changed"
        )
