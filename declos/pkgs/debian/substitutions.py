"""`substitutions`: hard-coded paths in a package's text files re-pointed into the store.

Debian builds for /usr; some programs name their data by absolute path (python3-docutils
reads its templates from '/usr/share/docutils/', shipped by docutils-common). An
override (`override_attrs(lambda f, p: {"substitutions": {OLD: NEW}})`, nixpkgs'
substituteInPlace) replaces OLD by NEW in every regular text file of the package
(files with a NUL byte, such as ELF objects, are left alone: a path inside a binary
cannot change length). NEW may use `@out@` and `@NAME@` (a dependency's path). A
substitution that matches nothing is an error, so a stale override is noticed when the
package changes (nixpkgs' --replace-fail).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from declos.pkgs.debian.errors import DebianError
from declos.pkgs.debian.wrappers import substitute

SKIP_DIRS = ("declos-support", "usr/share/doc", "usr/share/man")


def apply_substitutions(
    root: str, spec: Mapping[str, str], out: str, deps: Mapping[str, str], where: str
) -> dict[str, list[str]]:
    """Replace every OLD of `spec` in the package's text files; returns OLD -> files."""
    pairs = [
        (old.encode(), substitute(new, out, deps, where).encode())
        for old, new in sorted(spec.items())
    ]
    for old, _ in pairs:
        if not old:
            raise DebianError(f"{where}: substitutions: an empty string cannot be replaced")
    hits: dict[str, list[str]] = {old.decode(): [] for old, _ in pairs}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        dirnames[:] = [
            d for d in dirnames if os.path.join(rel_dir, d).lstrip("./") not in SKIP_DIRS
        ]
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            with open(path, "rb") as f:
                data = f.read()
            if b"\0" in data or not any(old in data for old, _ in pairs):
                continue
            for old, new in pairs:
                if old in data:
                    data = data.replace(old, new)
                    hits[old.decode()].append(os.path.relpath(path, root))
            mode = os.stat(path).st_mode & 0o7777
            with open(path, "wb") as f:
                f.write(data)
            os.chmod(path, mode)
    missing = [old for old, files in hits.items() if not files]
    if missing:
        raise DebianError(
            f"{where}: substitutions: {', '.join(repr(m) for m in missing)} found in no text "
            "file of the package; remove the substitution or correct the string"
        )
    return hits
