"""Scripts whose interpreter must find modules in the store (perl's @INC, Python's path).

Debian's perl and python3 look for modules under /usr; a script in the store run by
the host's perl (perl-base is Essential) would miss the perl modules of its closure,
and the host may have no python3 at all. So the package builder, for every script in
a bin directory:

- perl (`#!/usr/bin/perl`): when the package or its closure ships perl module
  directories, the script is wrapped (moved to `.NAME-wrapped`) by a bash script that
  prefixes PERL5LIB with them (nixpkgs' wrapProgram --prefix PERL5LIB);
- python (`#!/usr/bin/python3`, `python3.11`, `/usr/bin/env python3`): when the closure
  has the interpreter, the shebang is rewritten to the package's own entry point
  `declos-support/python/python3`, a symlink to the closure's python3.11 next to a
  `python3._pth` that lists the standard library halves and the dist-packages of the
  package and its closure (CPython reads `._pth` beside the path it was started as;
  it also means isolated mode, as nixpkgs' wrapped interpreters ignore PYTHONPATH).
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Sequence

BIN_DIRS = ("usr/bin", "usr/sbin", "usr/games")
PYTHON = "usr/bin/python3.11"
PYTHON_VERSION_DIR = "usr/lib/python3.11"
DIST_PACKAGES = "usr/lib/python3/dist-packages"
ENTRY = "declos-support/python/python3"
_SHEBANG = re.compile(rb"^#!\s*(\S+)(?:\s+(.*))?$")
_PERL_VERSION = re.compile(r"^\d+\.\d+(\.\d+)?$")


def perl_dirs(root: str) -> list[str]:
    """The perl module directories of one tree (relative), in Debian's @INC order."""
    out = _versioned(root, "usr/lib/x86_64-linux-gnu/perl5")
    if os.path.isdir(os.path.join(root, "usr/share/perl5")):
        out.append("usr/share/perl5")
    out += _versioned(root, "usr/lib/x86_64-linux-gnu/perl")
    out += _versioned(root, "usr/share/perl")
    return out


def _versioned(root: str, parent: str) -> list[str]:
    d = os.path.join(root, parent)
    if not os.path.isdir(d):
        return []
    return [f"{parent}/{n}" for n in sorted(os.listdir(d)) if _PERL_VERSION.match(n)]


def scripts(root: str, dirs: Sequence[str] = BIN_DIRS) -> list[tuple[str, str, str]]:
    """(relative path, interpreter, arguments) of every executable script in `dirs`."""
    found = []
    for d in dirs:
        full = os.path.join(root, d)
        if not os.path.isdir(full) or os.path.islink(full):
            continue
        for name in sorted(os.listdir(full)):
            path = os.path.join(full, name)
            if os.path.islink(path) or not os.path.isfile(path) or not os.access(path, os.X_OK):
                continue
            with open(path, "rb") as f:
                first = f.readline(512)
            m = _SHEBANG.match(first.rstrip(b"\n"))
            if m is None:
                continue
            interp = m.group(1).decode(errors="replace")
            args = (m.group(2) or b"").decode(errors="replace").strip()
            if interp == "/usr/bin/env" and args:
                interp, _, args = args.partition(" ")
                interp = "/usr/bin/" + interp
            found.append((f"{d}/{name}", interp, args.strip()))
    return found


def kind(interp: str) -> str | None:
    base = os.path.basename(interp)
    if base == "perl" or re.fullmatch(r"perl5[.\d]*", base):
        return "perl"
    if re.fullmatch(r"python3(\.\d+)?", base):
        return "python"
    return None


def python_entry(
    root: str, out: str, deps: Sequence[tuple[str, str]]
) -> tuple[str, list[str]] | None:
    """(interpreter store path, `._pth` lines) for scripts of this package, or None when
    neither the package nor its closure has python3.11."""
    trees = [(out, root), *deps]
    interp = next(
        (f"{logical}/{PYTHON}" for logical, phys in trees if os.path.isfile(f"{phys}/{PYTHON}")),
        None,
    )
    if interp is None:
        return None
    lines = []
    for sub in (PYTHON_VERSION_DIR, f"{PYTHON_VERSION_DIR}/lib-dynload"):
        lines += [f"{lg}/{sub}" for lg, ph in trees if os.path.isdir(f"{ph}/{sub}")]
    lines += [f"{lg}/{DIST_PACKAGES}" for lg, ph in trees if os.path.isdir(f"{ph}/{DIST_PACKAGES}")]
    return interp, lines


def fix_scripts(
    root: str,
    out: str,
    deps: Sequence[tuple[str, str]],
    skip: set[str],
    dirs: Sequence[str] = BIN_DIRS,
) -> dict[str, list[str]]:
    """Wrap perl scripts and re-point python scripts (module docstring) in `dirs` (the bin
    directories, plus a package's own program directory such as munin's
    usr/share/munin); returns {"perl": [paths], "python": [paths]}. `deps` are (logical,
    physical) store paths."""
    done: dict[str, list[str]] = {"perl": [], "python": []}
    found = [(rel, i, a) for rel, i, a in scripts(root, dirs) if rel not in skip]
    if not found:
        return done
    trees = [(out, root), *deps]
    perl_lib = [f"{lg}/{d}" for lg, ph in trees for d in perl_dirs(ph)]
    python: tuple[str, list[str]] | None = None
    for rel, interp, args in found:
        k = kind(interp)
        if k == "perl" and perl_lib:
            _wrap_perl(root, out, rel, perl_lib, interp, args)
            done["perl"].append(rel)
        elif k == "python":
            if python is None:
                python = python_entry(root, out, deps) or ("", [])
                if python[0]:
                    _write_entry(root, python)
            if python[0]:
                _repoint(root, rel, f"{out}/{ENTRY}", args)
                done["python"].append(rel)
    return done


def _wrap_perl(root: str, out: str, rel: str, lib: list[str], interp: str, args: str) -> None:
    """PERL5LIB wrapper; taint mode (-T/-t) ignores PERL5LIB, so such a script is run
    as `perl FLAGS -I DIR... SCRIPT` instead (what nixpkgs does for taint scripts)."""
    path = os.path.join(root, rel)
    hidden = os.path.join(os.path.dirname(rel), f".{os.path.basename(rel)}-wrapped")
    os.rename(path, os.path.join(root, hidden))
    script = shlex.quote(f"{out}/{hidden}")
    flags = args.split()
    if any(f.startswith("-") and ("T" in f or "t" in f) for f in flags):
        includes = " ".join(f"-I{shlex.quote(d)}" for d in lib)
        run = f"exec {shlex.quote(interp)} {' '.join(map(shlex.quote, flags))} {includes} {script}"
    else:
        joined = shlex.quote(":".join(lib))
        run = f'export PERL5LIB={joined}"${{PERL5LIB:+:$PERL5LIB}}"\nexec -a "$0" {script}'
    with open(path, "w") as f:
        f.write(f'#!/bin/bash\n{run} "$@"\n')
    os.chmod(path, 0o755)


def _write_entry(root: str, python: tuple[str, list[str]]) -> None:
    entry = os.path.join(root, ENTRY)
    os.makedirs(os.path.dirname(entry), exist_ok=True)
    os.symlink(python[0], entry)
    with open(entry + "._pth", "w") as f:
        f.write("\n".join([*python[1], "import site"]) + "\n")


def _repoint(root: str, rel: str, interp: str, args: str) -> None:
    path = os.path.join(root, rel)
    with open(path, "rb") as f:
        data = f.read()
    rest = data.split(b"\n", 1)[1] if b"\n" in data else b""
    shebang = f"#!{interp}{' ' + args if args else ''}\n".encode()
    mode = os.stat(path).st_mode & 0o7777
    with open(path, "wb") as f:
        f.write(shebang + rest)
    os.chmod(path, mode)
