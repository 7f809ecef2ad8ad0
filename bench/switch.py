"""Benchmark: building the trivial system closure, cold and warm, next to its anchors.

Usage: .venv/bin/python bench/switch.py [--config machines/trivial.yaml] [--runs 5]

Prints, for `declos build --root TMP` run as a user runs it (new process each time):
  cold   a fresh store under TMP (everything added: activator, scripts, texts, TOP)
  warm   the same config again (nothing added; the aim is < 1 s)
next to the anchors measured in the same run:
  eval   `declos eval` of the same config: the floor a warm build cannot go under
  nix    real Nix storing the same TOP tree (`nix-store --add` into a fresh chroot store)
and the ratios. The no-op / one-unit-changed `switch` inside a VM next to
`systemctl daemon-reload` needs the VM harness (declos.testing) and is not measured yet.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DECLOS = [sys.executable, "-m", "declos"]


def timed(cmd: list[str], **kwargs: object) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, **kwargs)  # type: ignore[call-overload]
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    return elapsed, proc.stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default="machines/trivial.yaml")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="declos-bench-switch-")
    try:
        colds, warms, evals, nixes = [], [], [], []
        top = ""
        for run in range(args.runs):
            root = os.path.join(work, f"root{run}")
            os.mkdir(root)
            cold, top = timed([*DECLOS, "build", "-c", args.config, "--root", root])
            warm, again = timed([*DECLOS, "build", "-c", args.config, "--root", root])
            if again != top:
                raise SystemExit(f"warm build gave another path: {again} != {top}")
            colds.append(cold)
            warms.append(warm)
            evals.append(timed([*DECLOS, "eval", args.config])[0])
            if shutil.which("nix-store"):
                nix_root = os.path.join(work, f"nix{run}")
                tree = os.path.join(work, f"top{run}")
                shutil.copytree(f"{root}{top}", tree, symlinks=True)
                env = {**os.environ, "NIX_CONFIG": "build-users-group =\nsubstituters =\n"}
                nixes.append(timed(["nix-store", "--store", f"local?root={nix_root}", "--add", tree], env=env)[0])
        cold, warm, ev = (statistics.median(x) for x in (colds, warms, evals))
        print(f"system closure of {args.config}: {top.rsplit('/', 1)[-1]}  (median of {args.runs} runs)")
        print(f"  declos build, cold          {cold * 1000:8.1f} ms")
        print(f"  declos build, warm          {warm * 1000:8.1f} ms   aim < 1000 ms: {warm / 1.0:.2f}x of the aim")
        print(f"  declos eval (floor)         {ev * 1000:8.1f} ms   warm build / eval = {warm / ev:.2f}")
        if nixes:
            nix = statistics.median(nixes)
            print(f"  nix-store --add of TOP      {nix * 1000:8.1f} ms   cold build / nix add = {cold / nix:.2f}")
        else:
            print("  nix-store not installed: no Nix anchor (apt-get install nix-bin)")
        print("  switch in a VM vs systemctl daemon-reload: not measured (needs the VM harness)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
