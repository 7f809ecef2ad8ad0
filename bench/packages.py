"""Debian packages in the store: declos against apt/dpkg/Nix on the same work, one run.

    .venv/bin/python bench/packages.py

Figures (reference/packages.md §7.11, issue 12):
1. index load: parse the host suites' Packages (cold) vs the marshal cache (warm),
   against `apt-cache gencaches` on the same lists (apt's own parse);
2. resolving nginx's closure: declos's resolver vs `apt-get install -s nginx`;
3. fetch + verify + unpack + ELF fixup of nginx's closure into a fresh store with an
   empty .deb cache, vs `apt-get download` + `dpkg-deb -x` of the same packages
   (goal <= 1.5x);
4. failing library opens per `nginx -V` (strace): the library farm vs one RUNPATH entry
   per package (goal <= 15);
5. a profile install and rollback (`declos env`), vs `nix-env --rollback`.
Network: the host's apt mirror (first two runs may differ: the mirror's own caches).
"""

from __future__ import annotations

import lzma
import marshal
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from declos.pkgs import Pkgs
from declos.pkgs.debian.archive import cache_dir, parse_packages
from declos.pkgs.debian.elf import read_elf
from declos.pkgs.debian.fixup import patchelf_binary
from declos.pkgs.debian.index import PackageIndex
from declos.pkgs.debian.locking import make_lock, open_archive
from declos.pkgs.debian.oracle import prepare_apt_dir
from declos.pkgs.debian.resolver import resolve
from declos.pkgs.user_env import UserEnvironment
from declos.store import Store


def timed(fn, *args):  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - t, result


def row(
    what: str, ours: float, anchor: float | None, unit: str = "s", anchor_name: str = ""
) -> None:
    ratio = f"{ours / anchor:6.2f}x" if anchor else "   n/a"
    a = f"{anchor:9.3f}" if anchor is not None else "      n/a"
    print(f"{what:<46} {ours:9.3f} {a} {unit:<3} {ratio}  {anchor_name}")


def apt_env(tmp: str) -> dict[str, str]:
    conf = os.path.join(tmp, "apt.conf")
    Path(conf).touch()
    return {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "APT_CONFIG": conf, "LC_ALL": "C"}


def strace_misses(argv: list[str]) -> int:
    proc = subprocess.run(
        ["strace", "-f", "-e", "trace=openat,open,stat,newfstatat,access", *argv],
        capture_output=True,
        text=True,
    )
    return sum(1 for line in proc.stderr.splitlines() if ".so" in line and "ENOENT" in line)


def main() -> int:
    # the machine may be shared: the load says how far the absolute times are inflated
    print("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    print(f"{'figure':<46} {'declos':>9} {'anchor':>9}     {'ratio':>7}")
    archive = open_archive()
    index_dir = cache_dir() / "debian-index"
    xzs = [
        index_dir / f"Packages-{r.index_hash(c, 'amd64')[0]}.xz"
        for s, r in archive.suites
        for c in s.components
    ]

    def cold() -> int:
        return sum(len(parse_packages(lzma.decompress(x.read_bytes()).decode())) for x in xzs)

    def warm() -> int:
        n = 0
        for x in xzs:
            sha = x.name[len("Packages-") : -3]
            with open(index_dir / f"parsed-1-{sha}.marshal", "rb") as f:
                n += len(marshal.load(f))
        return n

    t_cold, n = timed(cold)
    t_warm, _ = timed(warm)
    with tempfile.TemporaryDirectory() as tmp:
        opts = prepare_apt_dir(tmp, archive.suites)
        argv = [a for o in opts for a in ("-o", o)]
        env = apt_env(tmp)
        t_apt_cache, _ = timed(
            lambda: subprocess.run(["apt-cache", *argv, "gencaches"], env=env, capture_output=True)
        )
        row(f"index load cold ({n} stanzas)", t_cold, t_apt_cache, "s", "apt-cache gencaches")
        row("index load warm (marshal cache)", t_warm, t_apt_cache, "s", "apt-cache gencaches")
        t_idx, index = timed(
            lambda: PackageIndex(
                [
                    ("x", marshal.load(open(index_dir / f"parsed-1-{x.name[9:-3]}.marshal", "rb")))
                    for x in xzs
                ]
            )
        )
        t_res, res = timed(lambda: resolve(index, ["nginx"]))
        t_apt_s, _ = timed(
            lambda: subprocess.run(
                ["apt-get", *argv, "install", "-s", "-q", "nginx"], env=env, capture_output=True
            )
        )
        row(
            f"resolve nginx ({len(res.packages)} packages)",
            t_res,
            t_apt_s,
            "s",
            "apt-get install -s nginx",
        )

        work = Path(tempfile.mkdtemp(prefix="declos-bench-"))
        try:
            lock = make_lock(archive, ["nginx"], path=str(work / "declos.lock"))
            lock.write(work / "declos.lock")
            names = sorted(set(lock.closure("nginx")) | {"libc6", "libgcc-s1", "gcc-12-base"})
            # anchor: apt-get download + dpkg-deb -x of the same packages
            dl = work / "apt-dl"
            dl.mkdir()
            os.chmod(dl, 0o777)
            versions = [f"{n}={lock.packages[n].version}" for n in names]
            t0 = time.perf_counter()
            subprocess.run(
                ["apt-get", *argv, "download", *versions],
                cwd=dl,
                env=env,
                capture_output=True,
                check=True,
            )
            t_dl = time.perf_counter() - t0
            t0 = time.perf_counter()
            (work / "x").mkdir()
            for deb in sorted(dl.glob("*.deb")):
                subprocess.run(["dpkg-deb", "-x", str(deb), str(work / "x" / deb.stem)], check=True)
            t_x = time.perf_counter() - t0
            # declos: empty .deb cache, fresh store
            cache = work / "cache"
            (cache / "debian-index").mkdir(parents=True)
            os.environ["DECLOS_CACHE_DIR"] = str(cache)
            store = Store(str(work / "store"), str(work / "var"))
            pkgs = Pkgs(store, lock=work / "declos.lock")
            nginx = pkgs.nginx
            t_build, _ = timed(lambda: store.realise([nginx]))
            del os.environ["DECLOS_CACHE_DIR"]
            row(
                f"fetch+verify+unpack+fixup nginx ({len(names)} debs)",
                t_build,
                t_dl + t_x,
                "s",
                f"apt-get download {t_dl:.2f} + dpkg-deb -x {t_x:.2f}",
            )

            binary = f"{nginx}/sbin/nginx"
            farm = strace_misses([binary, "-V"])
            per = work / "nginx-per-package"
            shutil.copy(os.path.realpath(binary), per)
            # nixpkgs' autoPatchelf shape: one entry per package providing a DT_NEEDED
            needed = read_elf(os.path.realpath(binary)).needed  # type: ignore[union-attr]
            dirs = []
            for dep in lock.closure("nginx")[1:]:
                d = f"{pkgs.debian[dep]}/usr/lib/x86_64-linux-gnu"
                if any(os.path.exists(f"{d}/{so}") for so in needed) and d not in dirs:
                    dirs.append(d)
            subprocess.run([patchelf_binary(), "--set-rpath", ":".join(dirs), str(per)], check=True)
            per_package = strace_misses([str(per), "-V"])
            row(
                "failing .so opens per nginx -V (farm)",
                farm,
                per_package,
                "n",
                f"one RUNPATH entry per package ({len(dirs)} dirs)",
            )

            env_store = store
            user = UserEnvironment(env_store, "bench")
            t_i1, _ = timed(lambda: user.install(pkgs, ["nginx"]))
            t_i2, _ = timed(lambda: user.install(pkgs, ["libssl3"]))
            t_rb, _ = timed(user.rollback)
            nix_rb = None
            if shutil.which("nix-env") and shutil.which("nix-store"):
                a = subprocess.run(
                    ["nix-store", "--add", str(work / "declos.lock")],
                    capture_output=True,
                    text=True,
                ).stdout.strip()
                b = subprocess.run(
                    ["nix-store", "--add", sys.argv[0]], capture_output=True, text=True
                ).stdout.strip()
                prof = str(work / "nix-profile")
                for p in (a, b):
                    subprocess.run(
                        ["nix-env", "-p", prof, "--set", p], capture_output=True, check=True
                    )
                nix_rb, _ = timed(
                    lambda: subprocess.run(
                        ["nix-env", "-p", prof, "--rollback"], capture_output=True, check=True
                    )
                )
            row("profile install (nginx, built)", t_i1, None)
            row("profile rollback", t_rb, nix_rb, "s", "nix-env --rollback (process incl.)")
            store.close()
        finally:
            shutil.rmtree(work, ignore_errors=True)
    print("load average at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
