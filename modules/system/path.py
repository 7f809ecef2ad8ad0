"""`system.path`: the profile of `environment.systemPackages` (the closure's `sw`).

NixOS's config/system-path.nix: one symlink tree joining every package (the first
package wins on a conflict). Login shells find it through /run/declos/current-system/sw
(see profile.py).
"""

from declos.config import Option, types

NAME = "system-path"

options = {
    "system.path": Option(
        types.package,
        description="The packages of `environment.systemPackages` joined into one tree "
        "(the closure's `sw`). Set by declos; read it, do not define it.",
        read_only=True,
        internal=True,
    ),
}


def _expand(packages):
    """A Debian package brings its closure, as apt would (`gnupg` is a metapackage whose
    `gpg` and `gpg-agent` are dependencies); see declos.pkgs.debian.packages."""
    out = []
    for p in packages:
        for item in p.profile_packages() if hasattr(p, "profile_packages") else [p]:
            if item not in out:
                out.append(item)
    return out


def config(config, pkgs):
    return {"system.path": pkgs.symlink_join(NAME, _expand(config.environment.systemPackages))}
