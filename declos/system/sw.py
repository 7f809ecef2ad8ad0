"""`environment.systemPackages` -> the `system-path` profile (NixOS's buildEnv "system-path").

The join is `pkgs.symlink_join`, the same derivation users get; it is realised with
every other path the configuration mentions (declos.system.inputs). Plain store paths
are accepted as packages too.
"""

from __future__ import annotations

from typing import Any

NAME = "system-path"


def sw_derivation(store: Any, packages: list[Any]) -> Any:
    from declos.pkgs import Pkgs

    # A Debian package brings its closure, as apt would (declos.pkgs.debian.packages).
    expanded: list[Any] = []
    for p in packages:
        for item in p.profile_packages() if hasattr(p, "profile_packages") else [p]:
            if item not in expanded:
                expanded.append(item)
    return Pkgs(store).symlink_join(NAME, expanded)
