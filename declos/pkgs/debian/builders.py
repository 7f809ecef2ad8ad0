"""The two builders of a Debian package, run in-process by the store (`builtin:` builders).

`builtin:debian-fetch` (fixed-output, so its path depends only on the SHA-256 from the
lock): the `.deb` from ~/.cache/declos/debs if present, else from a mirror of the host's
apt sources for the locked suite; verified before anything keeps it.
`builtin:debian-package`: unpack, lay out, ELF-fix, compile .pyc, record what
maintainer scripts would have done (declos-support/).
"""

from __future__ import annotations

import compileall
import hashlib
import json
import os
import py_compile
import shutil
import sys

from declos.pkgs.debian.archive import atomic_write_bytes, cache_dir, download
from declos.pkgs.debian.deb import extract, extract_control, read_deb
from declos.pkgs.debian.errors import DebianError
from declos.pkgs.debian.fixup import LD_SO, build_farm, fixup, library_names
from declos.pkgs.debian.interpreters import BIN_DIRS, fix_scripts
from declos.pkgs.debian.layout import (
    add_top_links,
    link_into_deps,
    merge_usr,
    relativise_symlinks,
)
from declos.pkgs.debian.sources import host_sources, mirror_for
from declos.pkgs.debian.substitutions import apply_substitutions
from declos.pkgs.debian.wrappers import write_wrappers
from declos.store.build import BuildResources, builtin
from declos.store.derivation import Derivation


def deb_cache_path(sha256: str) -> str:
    return str(cache_dir() / "debs" / f"{sha256}.deb")


def fetch_deb(filename: str, suite: str, sha256: str) -> str:
    """The cached, verified .deb for a lock entry (downloaded on first use)."""
    cached = deb_cache_path(sha256)
    if os.path.isfile(cached):
        with open(cached, "rb") as f:
            if hashlib.sha256(f.read()).hexdigest() == sha256:
                return cached
    mirrors = mirror_for(host_sources(), suite) or [s.uri for s in host_sources()]
    errors = []
    for uri in mirrors:
        try:
            data = download(f"{uri}/{filename}", timeout=300)
        except DebianError as exc:
            errors.append(str(exc))
            continue
        got = hashlib.sha256(data).hexdigest()
        if got != sha256:
            errors.append(f"{uri}/{filename}: SHA256 {got}, the lock says {sha256}")
            continue
        atomic_write_bytes(cache_dir() / "debs" / f"{sha256}.deb", data)
        return cached
    raise DebianError(f"cannot fetch {filename}:\n" + "\n".join(errors))


@builtin("debian-fetch")
def _fetch(
    drv: Derivation, out: dict[str, str], physical_store: str, resources: BuildResources
) -> None:
    env = drv.env
    path = fetch_deb(env["filename"], env["suite"], env["sha256"])
    shutil.copyfile(path, out["out"])
    os.chmod(out["out"], 0o444)


def _phys(path: str, store_dir: str, physical_store: str) -> str:
    return physical_store + path[len(store_dir) :]


@builtin("debian-package")
def _package(
    drv: Derivation, out: dict[str, str], physical_store: str, resources: BuildResources
) -> None:
    env = drv.env
    where = f"{env['pname']} {env['version']}"
    root = out["out"]
    deb = _phys(env["deb"], drv.store_dir, physical_store)
    control, data = read_deb(deb)
    unpacked = extract(data, root, where)
    extract_control(control, os.path.join(root, "declos-support/control"))
    merge_usr(root, where)
    relativise_symlinks(root)
    deps = [(p, _phys(p, drv.store_dir, physical_store)) for p in env.get("deps", "").split()]
    link_into_deps(root, deps)
    add_top_links(root)
    alternatives = json.loads(env.get("libraryAlternatives") or "{}")
    farm = build_farm(root, deps, alternatives)
    base: set[str] = set()
    for p in env.get("base", "").split():
        base.update(name for name, _ in library_names(_phys(p, drv.store_dir, physical_store)))
    interpreter = ""
    if env.get("hermetic") == "1":
        libc = env.get("libc", "")
        interpreter = f"{libc}/{LD_SO}" if libc else f"{drv.outputs['out']}/{LD_SO}"
    report = fixup(
        root,
        drv.outputs["out"],
        farm_names=farm,
        base_names=base,
        interpreter=interpreter,
        ignore_missing=env.get("ignoreMissing", "").split(),
    )
    if not os.listdir(os.path.join(root, "declos-support/lib")):
        os.rmdir(os.path.join(root, "declos-support/lib"))
    wrappers = json.loads(env.get("wrappers") or "{}")
    dirs = (*BIN_DIRS, *env.get("scriptDirs", "").split())
    scripts = fix_scripts(root, drv.outputs["out"], deps, set(wrappers), dirs)
    wrapped = write_wrappers(
        root,
        drv.outputs["out"],
        wrappers,
        json.loads(env.get("depNames") or "{}"),
        where,
        lambda p: _phys(p, drv.store_dir, physical_store),
    )
    add_top_links(root)  # a wrapper can make usr/bin where the .deb had none (gnupg)
    subst = json.loads(env.get("substitutions") or "{}")
    if subst:
        apply_substitutions(
            root, subst, drv.outputs["out"], json.loads(env.get("depNames") or "{}"), where
        )
    _compile_python(root)
    support = {
        "package": env["pname"],
        "version": env["version"],
        "setuid": unpacked.setuid,
        "skipped": unpacked.skipped,
        "patched": len(report.patched),
        "ignored": report.ignored,
        "unresolved_plugins": report.optional,
        "dlopen_missing": report.dlopen_missing,
        "wrapped": wrapped,
        "perl_wrapped": scripts["perl"],
        "python_scripts": scripts["python"],
    }
    with open(os.path.join(root, "declos-support/package.json"), "w") as f:
        json.dump(support, f, indent=1, sort_keys=True)


@builtin("link-farm")
def _link_farm(
    drv: Derivation, out: dict[str, str], physical_store: str, resources: BuildResources
) -> None:
    """env: links (JSON, relative path -> target): a tree of symlinks."""
    root = out["out"]
    os.makedirs(root)
    for rel, target in sorted(json.loads(drv.env.get("links") or "{}").items()):
        rel = os.path.normpath(rel)
        if rel.startswith("..") or os.path.isabs(rel):
            raise DebianError(f"link farm {drv.name}: {rel!r} is outside the output")
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.symlink(target, path)


def _compile_python(root: str) -> None:
    """What py3compile would do in postinst: unchecked-hash .pyc (store mtimes are fixed)."""
    site = os.path.join(root, "usr/lib/python3/dist-packages")
    own = os.path.join(root, f"usr/lib/python3.{sys.version_info.minor}")
    for d in (site, own):
        if os.path.isdir(d):
            compileall.compile_dir(
                d,
                quiet=2,
                workers=1,
                invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
            )
