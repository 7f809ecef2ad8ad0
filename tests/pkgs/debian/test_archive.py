"""The resolver against apt, and corpus packages built from Debian's archive.

Real parts: the host's apt sources, gpgv, apt-get as the oracle, real .debs, patchelf,
and a private mount namespace that hides the host's library directory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from declos.pkgs import Pkgs
from declos.pkgs.debian.fixup import patchelf_binary
from declos.pkgs.debian.lockfile import Lock
from declos.pkgs.debian.locking import Archive
from declos.pkgs.debian.oracle import apt_closures
from declos.pkgs.debian.resolver import resolve
from declos.store import Store

from .conftest import CORPUS

# The main program of each corpus package (found in the package or its closure) and
# the output it must print.
MAIN = {
    "nginx": (["sbin/nginx", "-v"], "nginx version: nginx/1.22"),
    "curl": (["bin/curl", "--version"], "curl 7.88"),
    "wget": (["bin/wget", "--version"], "GNU Wget 1.21"),
    "tmux": (["bin/tmux", "-V"], "tmux 3.3a"),
    "jq": (["bin/jq", "--version"], "jq-1.6"),
    "valgrind": (["bin/valgrind", "--version"], "valgrind-3.19"),
    "python3": (["bin/python3", "-c", "import ssl, json, sqlite3; print('py ok')"], "py ok"),
    "git": (["bin/git", "--version"], "git version 2.39"),
    "openssh-server": (["sbin/sshd", "-V"], "OpenSSH_9.2"),
    "gnupg": (["bin/gpg", "--version"], "gpg (GnuPG) 2.2.40"),
    "apache2": (["sbin/apache2", "-v"], "Server version: Apache/2.4"),
    "postgresql": (["usr/lib/postgresql/15/bin/postgres", "--version"], "postgres (PostgreSQL) 15"),
    "munin-node": (["sbin/munin-node", "--help"], "munin-node"),
}


def test_resolver_matches_apt_on_the_corpus(archive: Archive) -> None:
    apt = apt_closures(archive.suites, CORPUS)
    for root in CORPUS:
        ours = set(resolve(archive.index, [root]).packages)
        assert ours == apt[root], (root, ours - apt[root], apt[root] - ours)
    assert len(apt["nginx"]) == 29 and "libsocket-perl" not in apt["munin-node"]


def test_lock_records_suites_hashes_edges_and_no_host(corpus_lock: Lock) -> None:
    text = Path(corpus_lock.path).read_text()
    assert "://" not in text and "debian.org" not in text
    data = json.loads(text)
    assert [s["suite"] for s in data["suites"]][0].endswith("-security")
    nginx = data["packages"]["nginx"]
    assert nginx["filename"].startswith("pool/") and "/n/nginx/nginx_1.22" in nginx["filename"]
    assert len(nginx["sha256"]) == 64 and nginx["size"] > 0
    assert "libssl3" in corpus_lock.closure("nginx")
    assert corpus_lock.why_depends("nginx", "libssl3") == ["nginx", "libssl3"]
    assert data["base"]["libc6"] == corpus_lock.libc_version != ""
    assert "bash" in data["base"]["essential"] and "bash" not in data["packages"]


def _find(pkg: object, rel: str) -> str:
    for item in pkg.profile_packages():  # type: ignore[attr-defined]
        path = os.path.join(str(item), rel)
        if os.path.lexists(path):
            return path
    raise AssertionError(f"{rel} is in no package of {pkg}'s closure")


def _base_libdir(pkgs: Pkgs, store: Store, tmp: Path, archive: Archive) -> Path:
    """A lib dir holding only the base to mount over the host's: libc6 and libgcc-s1 from
    the store, and the libraries the host's Essential packages need (bash's libtinfo,
    perl's libcrypt), taken from the host as every Debian host has them."""
    d = tmp / "baselib"
    d.mkdir()
    essential = archive.index.essential()
    names = set(resolve(archive.index, essential).packages)
    listing = subprocess.run(
        ["dpkg", "-L", *sorted(names)], capture_output=True, text=True
    ).stdout.split("\n")
    for f in listing:
        if f.startswith(("/lib/x86_64-linux-gnu/", "/usr/lib/x86_64-linux-gnu/")) and ".so" in f:
            name = f.rsplit("/", 1)[1]
            src = Path("/usr/lib/x86_64-linux-gnu") / name
            if "/" not in f.split("x86_64-linux-gnu/", 1)[1] and os.path.lexists(src):
                shutil.copy2(src, d / name, follow_symlinks=False)
    base = [pkgs.debian[n] for n in ("libc6", "libgcc-s1")]
    store.realise(base)
    for b in base:
        src = Path(str(b)) / "usr/lib/x86_64-linux-gnu"
        for entry in src.iterdir():
            if not os.path.lexists(d / entry.name):
                if entry.is_dir() and not entry.is_symlink():
                    shutil.copytree(entry, d / entry.name, symlinks=True)
                else:
                    shutil.copy2(entry, d / entry.name, follow_symlinks=False)
    return d


def run_hidden(libdir: Path, argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Run argv with the host's /usr/lib/x86_64-linux-gnu replaced by `libdir`."""
    script = 'mount --bind "$0" /usr/lib/x86_64-linux-gnu && exec "$@"'
    return subprocess.run(
        ["unshare", "-m", "--propagation", "private", "/bin/sh", "-c", script, str(libdir), *argv],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "LC_ALL": "C"},
    )


def test_corpus_programs_run_with_host_libraries_hidden(
    deb_pkgs: Pkgs, deb_store: Store, tmp_path: Path, archive: Archive
) -> None:
    pkgs = [deb_pkgs.debian[name] for name in CORPUS]
    deb_store.realise([d for p in pkgs for d in p.profile_packages()])
    libdir = _base_libdir(deb_pkgs, deb_store, tmp_path, archive)
    control = run_hidden(libdir, ["/usr/bin/curl", "--version"])
    assert "libcurl.so.4: cannot open shared object file" in control.stderr
    failures = []
    for name, pkg in zip(CORPUS, pkgs, strict=True):
        argv, want = MAIN[name]
        proc = run_hidden(libdir, [_find(pkg, argv[0]), *argv[1:]])
        if want not in proc.stdout + proc.stderr:
            failures.append(f"{name}: {argv} -> {proc.returncode} {proc.stderr[-300:]!r}")
    assert not failures, "\n".join(failures)


def test_layout_pyc_and_farm(deb_pkgs: Pkgs, deb_store: Store) -> None:
    valgrind, attr = deb_pkgs.valgrind, deb_pkgs.debian["libpython3.11-stdlib"]
    deb_store.realise([valgrind, attr])
    assert os.path.isdir(f"{valgrind}/share/doc/valgrind/html")
    assert os.readlink(f"{valgrind}/share") == "usr/share"
    pycs = list(Path(str(attr)).glob("usr/lib/python3.11/json/__pycache__/*.cpython-311.pyc"))
    assert pycs, "no .pyc compiled at build time"
    nginx = deb_pkgs.nginx
    deb_store.realise([nginx])
    farm = Path(f"{nginx}/declos-support/lib")
    assert os.readlink(farm / "libssl.so.3").startswith(str(deb_pkgs.libssl3))


def test_override_changes_the_path_exactly_when_an_input_does(deb_pkgs: Pkgs) -> None:
    jq = deb_pkgs.jq
    assert deb_pkgs.deb.jq.out_path == jq.out_path == deb_pkgs["jq"].out_path
    assert jq.override(hermetic=False).out_path == jq.out_path
    hermetic = jq.override(hermetic=True)
    assert hermetic.out_path != jq.out_path
    ignoring = jq.override_attrs(lambda final, prev: {"ignore_missing": ["libfoo.so.1"]})
    assert ignoring.out_path != jq.out_path
    assert ignoring.override_attrs(lambda f, p: {"ignore_missing": []}).out_path == jq.out_path


def test_hermetic_jq_runs_with_no_host_libraries(deb_pkgs: Pkgs, deb_store: Store) -> None:
    """Hermetic mode: libc6 from the store is the interpreter; the host's whole library
    directory is replaced by an empty tmpfs."""
    jq = deb_pkgs.jq.override(hermetic=True)
    deb_store.realise([jq])
    libc = deb_pkgs.debian.package("libc6", hermetic=True)
    interp = subprocess.run(
        [patchelf_binary(), "--print-interpreter", f"{jq}/usr/bin/jq"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert interp == f"{libc}/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
    script = 'mount -t tmpfs tmpfs /usr/lib/x86_64-linux-gnu && exec "$@"'
    proc = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "/bin/sh", "-c", script, "sh",
         f"{jq}/bin/jq", "-n", "[1, 2] | add"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert (proc.returncode, proc.stdout) == (0, "3\n"), proc.stderr
