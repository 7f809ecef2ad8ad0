"""Re-run real Nix on the original modules of every check in checks.yaml and compare
with the recorded answer (the expectations of test_nixpkgs_modules.py come from here).

    python3 tests/config/nixpkgs_modules/record.py [ANCHOR] [--only=LINE,...]   # needs nix-instantiate

ANCHOR defaults to /work/shared/anchors/nixpkgs-lib (a copy of nixpkgs' lib/).
Exit status 1 when Nix disagrees with a recorded answer.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).parent
NIX_STORE = "/nix/store"  # builtins.storeDir of Debian's nix-bin; STOREDIR in checks.yaml


def nix(
    directory: Path,
    modules: list[str],
    attr: str,
    strict: bool = False,
    abort_on_warn: bool = False,
) -> tuple[bool, str]:
    expr = "import ./default.nix { modules = [ " + " ".join(f"./{m}" for m in modules) + " ]; }"
    run = subprocess.run(
        [
            "nix-instantiate",
            "--timeout",
            "1",
            "--eval-only",
            "--read-write-mode",
            "--json",
            *(["--strict"] if strict else []),  # modules.sh's STRICT_EVAL=1
            "-E",
            expr,
            "-A",
            attr,
        ],
        cwd=directory,
        # modules.sh's ABORT_ON_WARN=1 (`--option abort-on-warn true`, a newer Nix's
        # setting); nixpkgs' lib.warn emulates it on Nix 2.8 through this variable.
        env={**os.environ, "NIX_ABORT_ON_WARN": "1"} if abort_on_warn else None,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return run.returncode == 0, run.stdout if run.returncode == 0 else run.stderr


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--only=")]
    only = {int(n) for a in sys.argv[1:] if a.startswith("--only=") for n in a[7:].split(",")}
    anchor = Path(args[0] if args else "/work/shared/anchors/nixpkgs-lib")
    directory = anchor / "lib" / "tests" / "modules"
    bad = 0
    for check in yaml.safe_load((HERE / "checks.yaml").read_text()):
        if only and check["line"] not in only:
            continue
        ok, out = nix(
            directory,
            check["nix_modules"],
            check["attr"],
            check.get("strict", False),
            check.get("abort_on_warn", False),
        )
        if "nix" in check:
            want = check["nix"]
            if isinstance(want, str):
                want = want.replace("NIXDIR", str(directory)).replace("STOREDIR", NIX_STORE)
            agree = ok and json.loads(out) == want
        elif "nix_pattern" in check:  # modules.sh's own regex (grep -P)
            agree = not ok and re.search(check["nix_pattern"], out) is not None
        else:
            agree = not ok and check["nix_error"] in out
        print(("ok  " if agree else "DIFF") + f" modules.sh:{check['line']} {check['attr']}")
        if not agree:
            print("    nix said: " + out.strip().replace("\n", "\n    ")[-800:])
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
