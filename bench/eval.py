"""Module-system speed: N str options over 100 files, evaluated and fully forced.

Each option has a default, a plain definition and a `mk_default` definition (the shape
of the Nix 2.8 `lib.evalModules` anchor measured for issue 2 on these machines). Every
run is a fresh Python process: time is load + evaluate + force everything (process
start excluded, like the anchor's evaluation time), memory is the process's peak RSS.
Also times `declos eval machines/webserver.yaml` end to end (process start included).

    .venv/bin/python bench/eval.py [--sizes 1000,10000,50000] [--formats yaml,py]

The anchors are fixed numbers: a same-run Nix anchor would need nixpkgs' `lib`, which
is not on these machines (nix-bin ships no nixpkgs), so they are printed as measured.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILES = 100
ANCHOR = {1000: (0.07, 39), 10000: (0.37, 152), 50000: (1.49, 463)}
"""Nix 2.8 lib.evalModules, same shape, these machines: seconds, MB peak RSS."""

CHILD = r"""
import glob, json, resource, sys, time
t = time.perf_counter()
from declos.config import evaluate
ev = evaluate(sorted(glob.glob(sys.argv[1] + "/*")), bare=True)
config = ev.value()
elapsed = time.perf_counter() - t
n = sum(1 for k in config if k.startswith("o"))
assert config["o0"] == "v0", config["o0"]
print(json.dumps({"seconds": elapsed, "mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "options": n}))
"""


def generate(n: int, directory: Path, fmt: str) -> None:
    """Declarations + plain definitions in m*.{fmt}, mk_default definitions in d*.{fmt}."""
    per = n // FILES
    for f in range(FILES):
        ids = range(f * per, (f + 1) * per)
        if fmt == "yaml":
            decl = ["options:"] + [f"  o{i}: {{type: str, default: d{i}}}" for i in ids]
            decl += ["config:"] + [f"  o{i}: v{i}" for i in ids]
            dflt = [f"o{i}: !default m{i}" for i in ids]
        else:
            decl = ["from declos.config import Option, types", "S = types.str", "options = {"]
            decl += [f"    'o{i}': Option(S, 'd{i}')," for i in ids] + ["}", "config = {"]
            decl += [f"    'o{i}': 'v{i}'," for i in ids] + ["}"]
            dflt = (
                ["from declos.config import mk_default", "config = {"]
                + [f"    'o{i}': mk_default('m{i}')," for i in ids]
                + ["}"]
            )
        (directory / f"m{f:03d}.{fmt}").write_text("\n".join(decl) + "\n")
        (directory / f"d{f:03d}.{fmt}").write_text("\n".join(dflt) + "\n")


def run_child(directory: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(directory)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def trivial_seconds(repeat: int = 5) -> float:
    declos = str(Path(sys.executable).with_name("declos"))
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(
            [declos, "eval", "machines/webserver.yaml"], cwd=ROOT, capture_output=True, check=True
        )
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--formats", default="yaml,py")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per point; the best is reported"
    )
    args = parser.parse_args()
    print(
        "anchor: Nix 2.8 lib.evalModules, same shape, fixed figures (no nixpkgs lib here for a same-run anchor)"
    )
    print(
        f"{'N':>7} {'format':>6} {'time s':>8} {'anchor':>7} {'ratio':>6} {'peak MB':>8} {'anchor':>7} {'ratio':>6}"
    )
    for n in (int(s) for s in args.sizes.split(",")):
        for fmt in args.formats.split(","):
            tmp = Path(tempfile.mkdtemp(prefix="declos-bench-"))
            try:
                generate(n, tmp, fmt)
                runs = [run_child(tmp) for _ in range(args.repeat)]
            finally:
                shutil.rmtree(tmp)
            best = min(runs, key=lambda r: r["seconds"])
            assert best["options"] == n, best
            a_s, a_mb = ANCHOR.get(n, (float("nan"), float("nan")))
            print(
                f"{n:>7} {fmt:>6} {best['seconds']:>8.2f} {a_s:>7.2f} {best['seconds'] / a_s:>6.2f}"
                f" {best['mb']:>8.0f} {a_mb:>7.0f} {best['mb'] / a_mb:>6.2f}"
            )
    t = trivial_seconds()
    print(
        f"declos eval machines/webserver.yaml, end to end (median of 5): {t:.3f} s (target: well under 1 s; ratio {t / 1.0:.2f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
