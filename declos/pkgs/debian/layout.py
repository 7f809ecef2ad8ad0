"""The store layout of an unpacked package: merged /usr and Nix-style top-level links.

bookworm's debs still ship /bin, /sbin, /lib (the host has /bin -> usr/bin); in the store
each package gets one tree: `usr/...` holds everything, and top-level `bin`, `sbin`,
`lib`, `share`, ... link into it, so `${pkgs.valgrind}/share/doc/...` and
`${pkgs.nginx}/sbin/nginx` work as in nixpkgs. Absolute symlinks that point inside the
package become relative (so they do not point at the host's copy).
"""

from __future__ import annotations

import os
import shutil

from declos.pkgs.debian.errors import DebianError

MERGED = ("bin", "sbin", "lib", "lib64", "lib32", "libx32")
TOP_LINKS = ("bin", "sbin", "lib", "lib64", "libexec", "share", "include")


def merge_usr(root: str, where: str) -> None:
    """Move top-level bin/sbin/lib* into usr/ (Debian forbids a file in both places)."""
    for top in MERGED:
        src = os.path.join(root, top)
        if not os.path.isdir(src) or os.path.islink(src):
            continue
        _merge_dir(src, os.path.join(root, "usr", top), where)
        shutil.rmtree(src)


def _merge_dir(src: str, dest: str, where: str) -> None:
    os.makedirs(dest, exist_ok=True)
    for entry in os.listdir(src):
        s, d = os.path.join(src, entry), os.path.join(dest, entry)
        if os.path.isdir(s) and not os.path.islink(s) and os.path.isdir(d):
            _merge_dir(s, d, where)
        elif os.path.lexists(d):
            raise DebianError(f"{where}: both /{s[len(src) - 3 :]} and /usr/... exist ({entry})")
        else:
            os.rename(s, d)


def _usr_target(target: str) -> str:
    parts = target.lstrip("/").split("/", 1)
    if parts[0] in MERGED:
        return "/usr/" + target.lstrip("/")
    return target


def relativise_symlinks(root: str) -> None:
    """Absolute links to something this package ships become relative links."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                continue
            target = os.readlink(path)
            if not target.startswith("/"):
                # A relative link crossing the old /lib -> /usr/lib split still resolves
                # after the merge only if it stays inside; leave it as shipped.
                continue
            mapped = _usr_target(target)
            inside = os.path.join(root, mapped.lstrip("/"))
            if os.path.lexists(inside):
                os.unlink(path)
                os.symlink(os.path.relpath(inside, dirpath), path)


def link_into_deps(root: str, deps: list[tuple[str, str]]) -> None:
    """Links that resolve to nothing here but to a file of a dependency point at it.

    `python3` ships `usr/bin/python3 -> python3.11`, and python3.11 lives in
    python3.11-minimal: in the store that is another path, so the link becomes absolute.
    """
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path) or os.path.exists(path):
                continue
            target = os.readlink(path)
            wanted = os.path.normpath(os.path.join("/" + os.path.relpath(dirpath, root), target))
            wanted = _usr_target(wanted).lstrip("/")
            for logical, physical in deps:
                if os.path.lexists(os.path.join(physical, wanted)):
                    os.unlink(path)
                    os.symlink(f"{logical}/{wanted}", path)
                    break


def add_top_links(root: str) -> None:
    for name in TOP_LINKS:
        top = os.path.join(root, name)
        if not os.path.lexists(top) and os.path.isdir(os.path.join(root, "usr", name)):
            os.symlink(f"usr/{name}", top)
