"""Running system closures on this host: its own activator, its profile, `result` links.

`declos switch` and friends always run the activator shipped inside the closure
(TOP/activate), exactly as a remote host does after a copy, so what runs locally is
what deploy runs (both through declos.hosts). With a root the store, the state and the activated tree all live under
it and nothing of the running host is touched.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from declos.common.atomic import atomic_symlink
from declos.hosts.local import LocalHost
from declos.store import location
from declos.store.gc import add_indirect_root


class NoGeneration(Exception):
    """There is no system profile yet, so there is nothing to roll back or list."""


def run_activator(top: str, action: str, root: str | None = None, extra: Sequence[str] = ()) -> int:
    """Run TOP's activator with `action` on this machine (under `root` if given), its
    output on this terminal; its exit code (OSError if it cannot be started)."""
    return LocalHost(root).activate_attached(top, action, args=extra)


def current_system(root: str | None = None) -> str:
    """The current generation's TOP, read through the system profile link."""
    state = location.state_dir()
    link = f"{os.path.abspath(root) if root else ''}{state}/profiles/system"
    try:
        target = os.readlink(link)
        if not target.startswith("/"):
            target = os.readlink(os.path.join(os.path.dirname(link), target))
    except OSError:
        raise NoGeneration(
            f"no system generation yet ({state}/profiles/system does not exist); "
            "run `declos switch` first"
        ) from None
    return target


def make_out_link(store: Any, top: str, link: str) -> str:
    """Point `link` at TOP (its logical store path) and register it as an indirect GC root.

    The link is made before the root is registered: gc deletes an indirect root whose
    link is missing. Until then the build's temporary root keeps TOP alive. An existing
    symlink is replaced atomically; anything else at `link` is left alone (an error)."""
    if os.path.lexists(link) and not os.path.islink(link):
        raise FileExistsError(f"{link} exists and is not a symbolic link; remove it or use -o PATH")
    atomic_symlink(top, os.path.abspath(link))
    return add_indirect_root(store, link)
