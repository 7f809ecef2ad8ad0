"""`wrap_program`: programs that need a variable or a flag to find their own files.

Debian builds programs for /usr; in the store, git must be told where its helpers are
(GIT_EXEC_PATH) and gpg where gpg-agent is. A wrapper is a small bash script that sets
the environment and execs the real program (nixpkgs' makeWrapper). Placeholders:
`@out@` is the package's own path, `@NAME@` the store path of dependency NAME.

Spec (JSON in the derivation, one entry per wrapper file, relative to the package):
`{"usr/bin/git": {"set": {"VAR": "value"}, "prefix": {"VAR": ["dir", ...]},
"flags": ["--opt", ...], "exec": "@gpg@/usr/bin/gpg"}}`; without `exec` the package's
own file is moved to `.NAME-wrapped` beside it and wrapped. `{"link": TARGET}` makes a
plain symlink instead (a metapackage exposing its dependency's files).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
from collections.abc import Callable, Mapping
from typing import Any

from declos.pkgs.debian.errors import DebianError

# Built-in wrappers for packages that do not work from the store without one.
DEFAULT_WRAPPERS: dict[str, dict[str, Any]] = {
    "git": {
        "usr/bin/git": {
            "set": {
                "GIT_EXEC_PATH": "@out@/usr/lib/git-core",
                "GIT_TEMPLATE_DIR": "@out@/usr/share/git-core/templates",
            },
            "prefix": {"PERL5LIB": ["@out@/usr/share/perl5"]},
        }
    },
    # The metapackage is what users name (`services.httpd.package = pkgs.apache2`); the
    # server and its modules live in apache2-bin.
    "apache2": {
        "usr/sbin/apache2": {"link": "@apache2-bin@/usr/sbin/apache2"},
        "usr/lib/apache2/modules": {"link": "@apache2-bin@/usr/lib/apache2/modules"},
        # services.httpd's TypesConfig (Debian's apache2 reads /etc/mime.types)
        "etc/mime.types": {"link": "@media-types@/etc/mime.types"},
    },
    # Python finds its standard library under one prefix, which Debian splits over two
    # packages: the interpreter is copied next to a `._pth` file (CPython >= 3.11 reads
    # it on Linux) listing both halves; `._pth` also means isolated mode.
    "python3": {
        "usr/bin/python3": {
            "copy": "@python3.11-minimal@/usr/bin/python3.11",
            "pth": [
                "@libpython3.11-minimal@/usr/lib/python3.11",
                "@libpython3.11-stdlib@/usr/lib/python3.11",
                "@libpython3.11-minimal@/usr/lib/python3.11/lib-dynload",
                "@libpython3.11-stdlib@/usr/lib/python3.11/lib-dynload",
                "import site",
            ],
        },
    },
    "gnupg": {
        "usr/bin/gpg": {
            "exec": "@gpg@/usr/bin/gpg",
            "flags": [
                "--agent-program",
                "@gpg-agent@/usr/bin/gpg-agent",
                "--dirmngr-program",
                "@dirmngr@/usr/bin/dirmngr",
            ],
        },
    },
}

# Built-in substitutions (docs/packages.md "Overrides"): absolute paths Debian's build
# hard-codes into a package's text files, re-pointed at the dependency that ships them.
DEFAULT_SUBSTITUTIONS: dict[str, dict[str, str]] = {
    "python3-docutils": {"'/usr/share/docutils/'": "'@docutils-common@/usr/share/docutils/'"},
    # munin-cron runs munin-update, -limits, -html and -graph from /usr/share/munin
    "munin": {"/usr/share/munin/munin-": "@out@/usr/share/munin/munin-"},
}

# Directories besides the bin directories whose perl and python scripts are fixed like
# the bin directories' (munin's master programs are perl scripts in usr/share/munin).
# Only a package named here gets the `scriptDirs` variable, so no other path changes.
DEFAULT_SCRIPT_DIRS: dict[str, tuple[str, ...]] = {"munin": ("usr/share/munin",)}

_PLACEHOLDER = re.compile(r"@([a-z0-9][a-z0-9+.\-]*)@")


def substitute(text: str, out: str, deps: Mapping[str, str], where: str) -> str:
    def repl(m: re.Match[str]) -> str:
        name = m.group(1)
        if name == "out":
            return out
        if name not in deps:
            raise DebianError(f"{where}: wrapper refers to @{name}@, which is not in the closure")
        return deps[name]

    return _PLACEHOLDER.sub(repl, text)


def write_wrappers(
    root: str,
    out: str,
    spec: Mapping[str, Any],
    deps: Mapping[str, str],
    where: str,
    physical: Callable[[str], str] = lambda p: p,
) -> list[str]:
    """Create every wrapper of `spec` under `root`; returns the wrapped paths."""
    made = []
    for rel, w in sorted(spec.items()):
        rel = os.path.normpath(rel)
        if rel.startswith("..") or os.path.isabs(rel):
            raise DebianError(f"{where}: wrapper path {rel!r} is outside the package")
        path = os.path.join(root, rel)
        if "link" in w:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if os.path.lexists(path):
                raise DebianError(f"{where}: cannot link {rel}: the package ships it")
            os.symlink(substitute(str(w["link"]), out, deps, where), path)
            made.append(rel)
            continue
        if "copy" in w:
            if os.path.lexists(path):
                os.unlink(path)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            shutil.copy2(physical(substitute(str(w["copy"]), out, deps, where)), path)
            lines = [substitute(str(x), out, deps, where) for x in w.get("pth", [])]
            if lines:
                with open(path + "._pth", "w") as f:
                    f.write("\n".join(lines) + "\n")
            made.append(rel)
            continue
        if "exec" in w:
            target = substitute(str(w["exec"]), out, deps, where)
        else:
            if not os.path.isfile(path):
                raise DebianError(f"{where}: cannot wrap {rel}: the package has no such file")
            hidden = os.path.join(os.path.dirname(rel), f".{os.path.basename(rel)}-wrapped")
            os.rename(path, os.path.join(root, hidden))
            target = f"{out}/{hidden}"
        lines = ["#!/bin/bash"]
        for var, value in sorted(dict(w.get("set", {})).items()):
            lines.append(f"export {var}={shlex.quote(substitute(str(value), out, deps, where))}")
        for var, dirs in sorted(dict(w.get("prefix", {})).items()):
            joined = ":".join(substitute(str(d), out, deps, where) for d in dirs)
            lines.append(f'export {var}={shlex.quote(joined)}"${{{var}:+:${var}}}"')
        flags = " ".join(
            shlex.quote(substitute(str(f), out, deps, where)) for f in w.get("flags", [])
        )
        lines.append(f'exec -a "$0" {shlex.quote(target)} {flags} "$@"'.replace('  "$@"', ' "$@"'))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if os.path.lexists(path):
            os.unlink(path)
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(path, 0o755)
        made.append(rel)
    return made
