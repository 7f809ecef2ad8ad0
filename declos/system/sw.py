"""`environment.systemPackages` -> the `system-path` profile (NixOS's buildEnv "system-path").

The join is `pkgs.symlink_join`, the same derivation users get; it is realised with
every other path the configuration mentions (declos.system.inputs). Plain store paths
are accepted as packages too.
"""

from __future__ import annotations

from typing import Any

from declos.pkgs import Pkgs

NAME = "system-path"


def sw_derivation(store: Any, packages: list[Any]) -> Any:
    return Pkgs(store).symlink_join(NAME, packages)
