"""Building from source: nginx by `pkgs.stdenv.mk_derivation` against the same
`./configure && make && make install` run by hand, one run.

    .venv/bin/python bench/stdenv.py

Figure (issue 13): the overhead of the sandbox, the phases, the compiler wrapper and the
fixup, for the talk's nginx (Debian's 1.22.1 upstream tarball, OpenSSL/zlib/PCRE2 from
the store; same flags; `make -jN` with N = the core count, the sandbox's NIX_BUILD_CORES). By hand uses the
same locked gcc and sysroot, since the host lacks libpcre2-dev. The toolchain and inputs
are built into the store and the tarball fetched before the clock starts.
"""

from __future__ import annotations

import os
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

from declos.pkgs import Pkgs
from declos.pkgs.debian.locking import make_lock, open_archive
from declos.pkgs.debian.sources import host_sources
from declos.pkgs.stdenv.stdenv import TOOLCHAIN
from declos.store import Store

TARBALL = "pool/main/n/nginx/nginx_1.22.1.orig.tar.gz"
SHA256 = "9ebb333a9e82b952acd3e2b4aeb1d4ff6406f72491bab6cd9fe69f0dea737f31"
FLAGS = ["--with-http_ssl_module", "--with-http_v2_module"]
INPUTS = ("libssl-dev", "zlib1g-dev", "libpcre2-dev")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="declos-bench-stdenv-") as tmp:
        lock = Path(tmp) / "declos.lock"
        make_lock(open_archive(), [*TOOLCHAIN, *INPUTS], path=str(lock)).write(lock)
        store = Store(f"{tmp}/store", f"{tmp}/var")
        pkgs = Pkgs(store, lock=lock)
        src = pkgs.fetchurl(f"{host_sources()[0].uri}/{TARBALL}", SHA256)
        drv = pkgs.stdenv.mk_derivation(
            "nginx",
            version="1.22.1",
            src=src,
            build_inputs=[pkgs.debian[n] for n in INPUTS],
            configure_flags=FLAGS,
        )
        store.realise(list(drv.input_drvs))  # toolchain profile, inputs, tarball
        t = time.perf_counter()
        store.realise([drv])
        ours = time.perf_counter() - t

        work = Path(tmp) / "by-hand"
        work.mkdir()
        with tarfile.open(store.real_path(src.out_path)) as tar:
            tar.extractall(work)  # pinned by SHA-256; Python 3.11.2 has no filter=
        [top] = list(work.iterdir())
        # the same compiler and inputs, outside the sandbox and without the phases: the
        # host has no libpcre2-dev, so its own -dev packages cannot build this
        sysroot = drv.env["declosSysroot"]
        [libexec] = Path(sysroot, "usr/lib/gcc/x86_64-linux-gnu").iterdir()
        env = {
            "PATH": f"{sysroot}/bin:/usr/bin:/bin",
            "HOME": tmp,
            "CC": f"{sysroot}/usr/bin/gcc -B{libexec}/ --sysroot={sysroot}",
        }
        t = time.perf_counter()
        for argv in (
            ["./configure", f"--prefix={tmp}/inst", *FLAGS],
            ["make", f"-j{os.cpu_count() or 1}"],
            ["make", "install"],
        ):
            subprocess.run(argv, cwd=top, env=env, check=True, capture_output=True)
        by_hand = time.perf_counter() - t
        store.close()
    print(f"{'nginx 1.22.1 from source':<32} {'declos':>9} {'by hand':>9} {'ratio':>7}")
    print(f"{'configure + make + install':<32} {ours:8.1f}s {by_hand:8.1f}s {ours / by_hand:6.2f}x")
    print(f"(load average now {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
