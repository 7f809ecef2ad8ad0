"""Where things live on the target, relative to an optional --root.

Store paths and the state dir are *logical* names (what links and unit files must say,
so an image built with --root boots); `Host.phys` maps them to where they really are
while activating. Under a root every physical path is resolved *inside* the root
(`declos.common.safepath.safe_join`): an absolute symlink in the tree means the tree's
own path, and a path that would climb out of it is refused with `PathEscape`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from declos.common.paths import state_dir
from declos.common.safepath import PathEscape, safe_join

__all__ = ["STATIC_LINK", "SYSTEM_PROFILE", "Host", "PathEscape", "state_dir"]

STATIC_LINK = ".declos-static"
SYSTEM_PROFILE = "system"


@dataclass(frozen=True)
class Host:
    """The tree being activated: `/` on a live host, a directory for images and tests."""

    root: Path | None = None

    @property
    def live(self) -> bool:
        """True when activating the running system (systemd, nft, mounts are touched)."""
        return self.root is None

    def phys(self, logical: str, *, follow_final: bool = True) -> Path:
        """The physical path of an absolute logical path inside this host.

        Raises PathEscape when, under a root, the path would leave it."""
        if self.root is None:
            return Path(logical)
        return safe_join(self.root, logical, follow_final=follow_final)

    def etc_path(self, target: str) -> Path:
        """/etc/TARGET, the link or file itself (its last component is not followed)."""
        return self.phys("/etc/" + target, follow_final=False)

    def store_phys(self, logical: str) -> Path:
        """Like phys, but a store path missing under the root is looked up on `/` too
        (a closure activated into a tree may live in the host's store)."""
        p = self.phys(logical)
        if self.root is not None and not os.path.lexists(p) and os.path.lexists(logical):
            return Path(logical)
        return p

    @property
    def etc(self) -> Path:
        return self.phys("/etc")

    @property
    def state(self) -> Path:
        return self.phys(state_dir())

    @property
    def activation_state(self) -> Path:
        return self.state / "activation"

    @property
    def profiles(self) -> Path:
        return self.state / "profiles"

    @property
    def locks(self) -> Path:
        return self.state / "locks"

    @property
    def run(self) -> Path:
        return self.phys("/run/declos")

    @property
    def boot(self) -> Path:
        return self.phys("/boot")

    def resolve(self, logical: str, depth: int = 0) -> Path:
        """Follow symlinks of a logical path *inside* the root (absolute links re-rooted),
        falling back to `/` for store paths the tree does not hold."""
        if depth > 40:
            raise PathEscape(self.root or "/", logical, "too many levels of symbolic links")
        parts = [p for p in logical.split("/") if p]
        cur = "/"
        for i, part in enumerate(parts):
            nxt = os.path.join(cur, part)
            ph = self.store_phys(nxt)
            if ph.is_symlink():
                target = os.readlink(ph)
                base = (
                    target
                    if target.startswith("/")
                    else os.path.normpath(os.path.join(cur, target))
                )
                rest = "/".join(parts[i + 1 :])
                return self.resolve(os.path.join(base, rest) if rest else base, depth + 1)
            cur = nxt
        return self.store_phys(cur)
