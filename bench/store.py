"""Store benchmark: declos side by side with its anchors in one run, printed as ratios.

  .venv/bin/python bench/store.py [--mb 200] [--files 20000] [--repeat 5] [--work /tmp/declos-bench]

Anchors: `nix-store --add` / `--dump` (Nix 2.8, private chroot store) on the same tree,
`sha256sum` on the same bytes, `tar | ssh | tar` through OpenSSH to the same loopback sshd
for the copy. Figures are wall-clock seconds after warming the page cache. The machine is
shared, so each comparison runs `--repeat` times interleaved (ours, anchor, anchor, ours,
... the order alternates, with `sync` before each timed copy) and prints the median of
each side and the median of the per-round ratios.

The CLI runs with compiled bytecode in a cache under the work directory (an installed
declos has its .pyc files; compiling every module on each start is not what users see).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "store"))

from declos.hosts import ssh_host_from_url  # noqa: E402
from declos.store import Store  # noqa: E402
from declos.store.nar import nar_hash  # noqa: E402

NIX_ENV = {**os.environ, "NIX_CONFIG": "build-users-group =\nsubstituters =\n"}


def make_tree(base: Path, total_mb: int, files: int, parts: int) -> list[Path]:
    """`files` files of mixed sizes (mostly small, a few large) totalling about total_mb MiB."""
    rng = random.Random(42)
    total = total_mb << 20
    weights = [rng.paretovariate(1.2) for _ in range(files)]
    scale = total / sum(weights)
    sizes = [max(1, int(w * scale)) for w in weights]
    dirs = [base / f"part{p:02d}" for p in range(parts)]
    for i, size in enumerate(sizes):
        d = dirs[i % parts] / f"d{(i // parts) % 40:02d}"
        d.mkdir(parents=True, exist_ok=True)
        f = d / f"f{i:05d}.bin"
        f.write_bytes(rng.randbytes(size // 2) + bytes(size - size // 2))  # half random, half zeros
        if i % 97 == 0:
            f.chmod(0o755)
    return dirs


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def rmtree(d: Path) -> None:
    if d.exists():
        sh(["chmod", "-R", "u+w", str(d)])
        shutil.rmtree(d)


def sh(cmd: list[str] | str, **kw) -> None:  # type: ignore[no-untyped-def]
    subprocess.run(cmd, check=True, shell=isinstance(cmd, str), **kw)


def interleave(reps: int, *fns, before=None) -> list[list[float]]:  # type: ignore[no-untyped-def]
    """Time each of `fns` `reps` times, rotating which goes first; `before(i)` is untimed."""
    times: list[list[float]] = [[] for _ in fns]
    for r in range(reps):
        for k in range(len(fns)):
            i = (r + k) % len(fns)
            if before is not None:
                before(i)
            times[i].append(timed(fns[i]))
    return times


def row(label: str, ours: list[float], anchor: list[float], anchor_name: str) -> None:
    """Median seconds of each side and the median per-round time ratio (lower is better)."""
    ratio = statistics.median(o / n for o, n in zip(ours, anchor, strict=True))
    print(
        f"{label:<34} declos {statistics.median(ours):8.3f}   {anchor_name:<18} {statistics.median(anchor):8.3f}"
        f"   ratio {ratio:5.2f} x time  (median of {len(ours)})"
    )


def row_rate(
    label: str, mib: float, ours: list[float], anchor: list[float], anchor_name: str
) -> None:
    """MB/s of each side (median) and the median per-round throughput ratio (higher is better)."""
    ratio = statistics.median(n / o for o, n in zip(ours, anchor, strict=True))
    print(
        f"{label:<34} declos {mib / statistics.median(ours):8.0f}   {anchor_name:<18} "
        f"{mib / statistics.median(anchor):8.0f}   ratio {ratio:5.2f} x throughput  (median of {len(ours)})"
    )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=200)
    ap.add_argument("--files", type=int, default=20000)
    ap.add_argument("--parts", type=int, default=50)
    ap.add_argument("--closure-paths", type=int, default=1000)
    ap.add_argument(
        "--repeat",
        type=int,
        default=5,
        help="interleaved rounds per comparison (copies: at most 3)",
    )
    ap.add_argument("--work", default="/tmp/declos-bench")
    args = ap.parse_args()
    work = Path(args.work)
    rmtree(work)
    tree = work / "tree"
    print(f"generating {args.files} files, {args.mb} MiB in {args.parts} parts ...", flush=True)
    parts = make_tree(tree, args.mb, args.files, args.parts)
    sh(f"cat $(find {tree} -type f) > /dev/null")  # warm the page cache for both sides
    os.environ["DECLOS_STORE_DIR"] = "/nix/store"
    os.environ["DECLOS_STATE_DIR"] = "/nix/var/nix"
    print(f"\n{'operation':<34} {'ours (s)':>15}   {'anchor (s)':>27}")

    # add + dump: the whole tree as one path
    pyenv = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    pyenv.update(
        PYTHONPATH=str(Path(__file__).resolve().parents[1]),
        PYTHONPYCACHEPREFIX=str(work / "pycache"),
    )
    declos = [sys.executable, "-m", "declos", "store", "--root", str(work / "declos-root")]
    sh([*declos, "--help"], env=pyenv, stdout=subprocess.DEVNULL)  # compile the bytecode once
    nix_root = work / "nix-root"

    def fresh_add_root(which: int) -> None:
        rmtree(work / "declos-root" if which == 0 else nix_root)
        sh(["sync"])

    ours_add, nix_add = interleave(
        max(1, args.repeat // 2),
        lambda: sh([*declos, "add", str(tree)], env=pyenv, stdout=subprocess.DEVNULL),
        lambda: sh(
            ["nix-store", "--store", f"local?root={nix_root}", "--add", str(tree)],
            env=NIX_ENV,
            stdout=subprocess.DEVNULL,
        ),
        before=fresh_add_root,
    )
    row("add 1 tree (CLI)", ours_add, nix_add, "nix-store --add")
    store = Store.open(work / "declos-root")
    path = store.add_path(tree)
    ours_dump, nix_dump = interleave(
        args.repeat,
        lambda: sh([*declos, "dump", path], stdout=subprocess.DEVNULL, env=pyenv),
        lambda: sh(
            ["nix-store", "--dump", str(nix_root) + path], stdout=subprocess.DEVNULL, env=NIX_ENV
        ),
    )
    row("dump 1 tree (CLI, to /dev/null)", ours_dump, nix_dump, "nix-store --dump")

    # hashing: one big file, same bytes
    big = work / "big.bin"
    with open(big, "wb") as f:
        for p in parts:
            for dirpath, _d, files in os.walk(p):
                for n in files:
                    f.write(Path(dirpath, n).read_bytes())
    sh(["cat", str(big)], stdout=subprocess.DEVNULL)
    ours_hash = timed(lambda: nar_hash(big))
    sum_hash = timed(lambda: sh(["sha256sum", str(big)], stdout=subprocess.DEVNULL))
    mb = big.stat().st_size / (1 << 20)
    print(
        f"{'sha256 of ' + f'{mb:.0f} MiB (MB/s)':<34} declos {mb / ours_hash:8.0f}   {'sha256sum':<18} {mb / sum_hash:8.0f}"
        f"   ratio {sum_hash / ours_hash:5.2f} x throughput"
    )

    # copy: a closure of `parts` paths over a loopback sshd vs tar | ssh
    from sshd_server import Sshd

    sshd = Sshd(work / "sshd")
    try:
        src = Store.open(work / "copy-src")
        prev: list[str] = []
        for p in parts:
            prev.append(src.add_path(p))
        top = src.add_text("closure-top", " ".join(prev), prev)
        closure = src.closure([top])

        def copy(paths: list[str], url: str, compress: bool = False):  # type: ignore[no-untyped-def]
            """One copy on a fresh connection (as `declos store copy` makes one)."""
            host = ssh_host_from_url(
                url, key_file=str(sshd.client_key), known_hosts_file=str(sshd.known_hosts)
            )
            with host:
                return host.copy_closure_to(src, paths, compress=compress)

        ssh = (
            f"ssh -p {sshd.port} -i {sshd.client_key} -o UserKnownHostsFile={sshd.known_hosts} "
            "-o StrictHostKeyChecking=yes root@127.0.0.1"
        )
        phys = [str(src.real_path(p)) for p in closure]
        dests = [work / "copy-dst", work / "copy-dst-z", work / "tar-dst"]
        url, url_z = (f"{sshd.url}?root={d}" for d in dests[:2])
        result = {}

        def fresh_copy_dest(i: int) -> None:
            rmtree(dests[i])
            if i < 2:  # the receiver is uploaded once per store, before the timed copy
                copy([src.add_text("warm", "x")], (url, url_z)[i])
            else:
                dests[i].mkdir()
            sh(["sync"])

        ours_copy, ours_z, tar = interleave(
            min(args.repeat, 3),
            lambda: result.__setitem__("r", copy([top], url)),
            lambda: copy([top], url_z, compress=True),
            lambda: sh(
                f"tar cf - -C / {' '.join(p.lstrip('/') for p in phys)} | {ssh} 'tar xf - -C {dests[2]}'"
            ),
            before=fresh_copy_dest,
        )
        r = result["r"]
        assert len(r.sent) == len(closure)
        mib = r.nar_bytes / (1 << 20)
        row_rate(
            f"copy {len(closure)} paths {mib:.0f} MiB (MB/s)", mib, ours_copy, tar, "tar | ssh"
        )
        row_rate("  same, --compress (zstd) (MB/s)", mib, ours_z, tar, "tar | ssh")

        # re-copy of a 1,000-path closure that is already there
        many: list[str] = []
        for i in range(args.closure_paths):
            many.append(src.add_text(f"small-{i}", f"{i} " + " ".join(many[-3:]), many[-3:]))
        root_path = src.add_text("many-top", " ".join(many), many)
        n = len(src.closure([root_path]))
        first = timed(lambda: copy([root_path], url))
        res = {}
        again = timed(lambda: res.setdefault("r", copy([root_path], url)))
        ssh_noop = timed(lambda: sh(f"{ssh} true"))
        print(f"{f'copy {n}-path closure, first':<34} declos {first:8.3f}")
        print(
            f"{f're-copy {n} paths, all present':<34} declos {again:8.3f}   {'ssh host true':<18} {ssh_noop:8.3f}"
            f"   ratio {again / ssh_noop:5.2f} x time   (round trips: {res['r'].round_trips}, sent: {len(res['r'].sent)})"
        )
    finally:
        sshd.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
