"""Python distributions in the store: declos against uv and pip on the same locked set, one run.

    .venv/bin/python bench/python.py

Figures (issue 13, reference/packages.md §7.11 T8):
1. every wheel of a ~50-distribution lock installed into a fresh store (one store path
   each, pypa installer, unchecked-hash .pyc), per wheel (goal <= 100 ms), against
   `uv venv` + `uv pip install --no-deps --compile-bytecode` and `python3 -m venv` +
   `pip install --no-deps --no-index` of the SAME wheel files into a fresh virtualenv;
2. the environment of those distributions assembled (the store paths present), against
   `uv venv` + `uv pip install` from uv's warm cache (its fastest path).
The lock is resolved once by pip and cached with the wheels in ~/.cache/declos/bench-python/
(first run downloads); uv lives in the bench's own venv there, never in declos' deps.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from declos.pkgs import Pkgs
from declos.pkgs.debian.archive import cache_dir
from declos.pkgs.python.builders import fetch_artifact
from declos.pkgs.python.lockfile import read_pylock
from declos.pkgs.python.locking import lock_requirements
from declos.pkgs.python.wheels import select_wheel
from declos.store import Store

REQUIREMENTS = [
    "pyramid==2.0.2",
    "setuptools<81",
    "sphinx",
    "flask",
    "requests",
    "black",
    "httpx",
    "pytest",
    "rich",
]
PYTHON = "/usr/bin/python3.11"


def row(what: str, ours: float, anchor: float, anchor_name: str) -> None:
    print(f"{what:<44} {ours:8.3f} s {anchor:8.3f} s {ours / anchor:6.2f}x  {anchor_name}")


def bench_dir() -> Path:
    d = cache_dir() / "bench-python"
    d.mkdir(parents=True, exist_ok=True)
    return d


def the_lock() -> Path:
    key = hashlib.sha256("\n".join(REQUIREMENTS).encode()).hexdigest()[:16]
    path = bench_dir() / f"pylock-{key}.toml"
    if not path.exists():
        lock_requirements(REQUIREMENTS, only_binary=True).write(path)
    return path


def uv_binary() -> str:
    venv = bench_dir() / "venv-uv"
    uv = venv / "bin" / "uv"
    if not uv.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin/pip"), "install", "-q", "uv"], check=True)
    return str(uv)


def timed(argv: list[str], env: dict[str, str] | None = None) -> float:
    t = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, env=env)
    return time.perf_counter() - t


def main() -> None:
    lock_path = the_lock()
    lock = read_pylock(lock_path)
    wheels = []
    for dist in lock.dists.values():
        w = select_wheel(dist, (3, 11))
        assert w is not None, dist.name
        wheels.append(str(fetch_artifact(w.url, w.sha256, w.filename)))
    n = len(wheels)
    # the fetched files carry the lock's names (installers read name/version from them)
    uv = uv_binary()
    with tempfile.TemporaryDirectory(prefix="declos-bench-py-") as tmp:
        store = Store(f"{tmp}/store", f"{tmp}/var")
        pkgs = Pkgs(store, python_lock=lock_path)
        dists = [pkgs.python3.dist(name) for name in lock.dists]
        fetches = [d for drv in dists for d in drv.input_drvs]
        store.realise(fetches)  # archives into the store: same starting point as the files
        t = time.perf_counter()
        store.realise(dists)
        ours = time.perf_counter() - t
        env = pkgs.python3.env(dists, "bench-env")
        t = time.perf_counter()
        [out] = store.realise([env])
        assembly = time.perf_counter() - t
        check = subprocess.run(
            [f"{out}/bin/python", "-c", "import sphinx, flask, pyramid, black, httpx"],
            env={},
            check=False,
        )
        assert check.returncode == 0

        uv_env = {**os.environ, "UV_CACHE_DIR": f"{tmp}/uv-cache", "UV_NO_CONFIG": "1"}
        t_uv = timed([uv, "venv", "-q", "--python", PYTHON, f"{tmp}/uv1"], uv_env)
        t_uv += timed(
            [
                uv,
                "pip",
                "install",
                "-q",
                "--offline",
                "--no-deps",
                "--compile-bytecode",
                "--python",
                f"{tmp}/uv1/bin/python",
                *wheels,
            ],
            uv_env,
        )
        t_pip = timed([PYTHON, "-m", "venv", "--without-pip", f"{tmp}/pip1"])
        t_pip += timed(
            [
                sys.executable,
                "-m",
                "pip",
                "--python",
                f"{tmp}/pip1/bin/python",
                "install",
                "-q",
                "--no-deps",
                "--no-index",
                *wheels,
            ]
        )
        t_uv_warm = timed([uv, "venv", "-q", "--python", PYTHON, f"{tmp}/uv2"], uv_env)
        t_uv_warm += timed(
            [
                uv,
                "pip",
                "install",
                "-q",
                "--offline",
                "--no-deps",
                "--python",
                f"{tmp}/uv2/bin/python",
                *wheels,
            ],
            uv_env,
        )
        store.close()
    print(f"{n} distributions (lock {lock_path.name}); columns: declos, anchor, ratio")
    row(
        f"{n} wheels installed (fresh store / venv)",
        ours,
        t_uv,
        "uv venv + uv pip install --compile-bytecode",
    )
    row(
        f"{n} wheels installed (fresh store / venv)",
        ours,
        t_pip,
        "python3 -m venv + pip install --no-index",
    )
    print(f"{'per wheel':<44} {1000 * ours / n:8.1f} ms (goal <= 100 ms)")
    row(
        f"environment of {n} assembled (paths present)",
        assembly,
        t_uv_warm,
        "uv venv + uv pip install, warm cache",
    )


if __name__ == "__main__":
    main()
