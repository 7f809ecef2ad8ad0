"""Module-system speed: N str options over 100 files, evaluated and fully forced.

Each option has a default, a plain definition and a `mk_default` definition (the shape
of the Nix 2.8 `lib.evalModules` anchor measured for issue 2 on these machines). Every
run is a fresh Python process: time is the CPU time of load + evaluate + force everything
(process start excluded, like the anchor's evaluation time; CPU time, not wall time, so
that other work on the shared machine does not count), memory is the peak RSS.
Also times `declos eval machines/webserver.yaml` end to end (process start included).

    .venv/bin/python bench/eval.py [--sizes 1000,10000,50000] [--formats yaml,py]
                                   [--nixpkgs-lib /work/shared/anchors/nixpkgs-lib]

The anchor runs in the same run: real Nix (`nix-instantiate`, Debian's nix-bin) evaluates
the same option set written as Nix modules with nixpkgs' `lib.evalModules` (the copy of
nixpkgs' lib/ given by --nixpkgs-lib), forcing the whole config with `deepSeq`. Its time is
Nix's own evaluation CPU time (NIX_SHOW_STATS `cpuTime`: process start and parsing of
nixpkgs' lib excluded, like declos's figure) and its memory the process's peak RSS; the
ratios are declos / Nix. Without nix-instantiate or the lib copy, the Nix 2.8 figures
measured for issue 2 are printed instead, marked "fixed".
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILES = 100
FIXED_ANCHOR = {1000: (0.07, 39), 10000: (0.37, 152), 50000: (1.49, 463)}
"""Nix 2.8 lib.evalModules, same shape, these machines (issue 2): seconds, MB peak RSS;
printed only when the same-run anchor cannot run."""
NIXPKGS_LIB = "/work/shared/anchors/nixpkgs-lib"
NIX_EXPR = """
let
  lib = import {lib};
  config = (lib.evalModules {{ modules = map (f: {dir} + "/${{f}}") {files}; }}).config;
  options = removeAttrs config [ "_module" ];
in
assert config.o0 == "v0";
builtins.deepSeq options (builtins.length (builtins.attrNames options))
"""

CHILD = r"""
import glob, json, resource, sys, time
t = time.process_time()
from declos.config import evaluate
ev = evaluate(sorted(glob.glob(sys.argv[1] + "/*")), bare=True)
config = ev.value()
elapsed = time.process_time() - t
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


def generate_nix(n: int, directory: Path) -> list[str]:
    """The same option set as Nix modules (declarations + definitions, mkDefault ones)."""
    per = n // FILES
    names = []
    for f in range(FILES):
        ids = range(f * per, (f + 1) * per)
        decl = ["{ lib, ... }: {", "  options = {"]
        decl += [
            f'    o{i} = lib.mkOption {{ type = lib.types.str; default = "d{i}"; }};' for i in ids
        ]
        decl += ["  };", "  config = {"] + [f'    o{i} = "v{i}";' for i in ids] + ["  };", "}"]
        dflt = ["{ lib, ... }: {", "  config = {"]
        dflt += [f'    o{i} = lib.mkDefault "m{i}";' for i in ids] + ["  };", "}"]
        (directory / f"m{f:03d}.nix").write_text("\n".join(decl) + "\n")
        (directory / f"d{f:03d}.nix").write_text("\n".join(dflt) + "\n")
        names += [f"m{f:03d}.nix", f"d{f:03d}.nix"]
    return names


def run_nix(directory: Path, names: list[str], lib: Path) -> dict[str, float]:
    """One nix-instantiate evaluation: Nix's eval CPU seconds and the peak RSS (MB)."""
    expr = NIX_EXPR.format(
        lib=lib / "lib", dir=directory, files="[ " + " ".join(f'"{f}"' for f in names) + " ]"
    )
    proc = subprocess.Popen(
        ["nix-instantiate", "--eval", "--read-write-mode", "-E", expr],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "NIX_SHOW_STATS": "1"},
        text=True,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    out, err = proc.stdout.read() if proc.stdout else "", proc.stderr.read() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"nix-instantiate failed: {err[-800:]}")
    stats = json.loads(err[err.index("{") :])
    return {"seconds": stats["cpuTime"], "mb": usage.ru_maxrss / 1024, "options": int(out)}


def nix_anchor(n: int, lib: Path | None, repeat: int) -> tuple[float, float, str]:
    """(seconds, MB, label): the same-run Nix anchor, or the fixed figures."""
    if lib is None:
        a_s, a_mb = FIXED_ANCHOR.get(n, (float("nan"), float("nan")))
        return a_s, a_mb, "fixed"
    tmp = Path(tempfile.mkdtemp(prefix="declos-bench-nix-"))
    try:
        names = generate_nix(n, tmp)
        runs = [run_nix(tmp, names, lib) for _ in range(repeat)]
    finally:
        shutil.rmtree(tmp)
    best = min(runs, key=lambda r: r["seconds"])
    assert best["options"] == n, best
    return best["seconds"], min(r["mb"] for r in runs), "nix"


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
    parser.add_argument("--nixpkgs-lib", default=NIXPKGS_LIB, help="a copy of nixpkgs' lib/")
    args = parser.parse_args()
    lib: Path | None = Path(args.nixpkgs_lib)
    if shutil.which("nix-instantiate") is None or not (lib / "lib" / "default.nix").is_file():
        lib = None
    version = (
        subprocess.run(
            ["nix-instantiate", "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if lib
        else "Nix 2.8 (fixed figures of issue 2)"
    )
    print(f"anchor: {version}, lib.evalModules from {args.nixpkgs_lib}, same shape, same run")
    print(
        f"{'N':>7} {'format':>6} {'time s':>8} {'anchor':>7} {'ratio':>6} {'peak MB':>8} {'anchor':>7} {'ratio':>6}"
    )
    for n in (int(s) for s in args.sizes.split(",")):
        a_s, a_mb, label = nix_anchor(n, lib, args.repeat)
        print(f"{n:>7} {label:>6} {a_s:>8.2f} {'':>7} {'':>6} {a_mb:>8.0f}")
        for fmt in args.formats.split(","):
            tmp = Path(tempfile.mkdtemp(prefix="declos-bench-"))
            try:
                generate(n, tmp, fmt)
                runs = [run_child(tmp) for _ in range(args.repeat)]
            finally:
                shutil.rmtree(tmp)
            best = min(runs, key=lambda r: r["seconds"])
            assert best["options"] == n, best
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
