"""libvirt backend benchmark: `declos deploy` to an activated machine, beside the VM
harness's own boot-to-SSH in the same run (issue 11's figures).

    flock /work/team/vm.lock .venv/bin/python bench/backends_boot.py          # warm image
    flock /work/team/vm.lock .venv/bin/python bench/backends_boot.py --cold   # + cold image

Anchor: the harness boots a VM from the same cached image (same memory, vCPUs, TCG) and
waits for SSH. `deploy (warm image)` creates the libvirt machine (overlay, seed, domain),
boots it, grows its root filesystem, builds and activates a minimal configuration;
`deploy (cold image)` does the same with an empty cache (XDG_CACHE_HOME in a scratch
directory), so the base image is built first. Ratios are ours / anchor. Other work on the
machine slows everything: the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The anchor is bench/vm.py's own boot-to-SSH (this directory is sys.path[0] for a script).
from vm import boot_to_ssh  # noqa: E402

NETWORK = """\
bench:
  networking.hostName: bench
  services.openssh.enable: true
  deployment.targetEnv: libvirt
  deployment.libvirt: {memorySize: 1024, vcpu: 2}
"""


def declos(tmp: Path, env: dict[str, str], *args: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "declos", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp,
        timeout=3600,
    )
    if proc.returncode != 0:
        raise SystemExit(f"declos {' '.join(args)} failed:\n{proc.stdout}{proc.stderr}")


def deploy(cold: bool) -> float:
    with tempfile.TemporaryDirectory(prefix="declos-bench-deploy-") as scratch:
        tmp = Path(scratch)
        (tmp / "net.yaml").write_text(NETWORK)
        env = dict(os.environ, DECLOS_STATE=str(tmp / "state.db"), DECLOS_VM_DIR=str(tmp / "vms"))
        if cold:
            env["XDG_CACHE_HOME"] = str(tmp / "cache")
        declos(tmp, env, "create", "-d", "bench", "net.yaml")
        started = time.monotonic()
        try:
            declos(tmp, env, "deploy", "-d", "bench", "--store-root", str(tmp / "store"))
            return time.monotonic() - started
        finally:
            declos(tmp, env, "destroy", "-d", "bench", "--confirm")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="also deploy with an empty cache")
    args = parser.parse_args()
    anchor = boot_to_ssh("libvirt")
    rows = [("harness boot-to-SSH (anchor)", anchor), ("deploy (warm image)", deploy(False))]
    if args.cold:
        rows.append(("deploy (cold image)", deploy(True)))
    print(f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'':<30} {'seconds':>9}  {'/ anchor':>8}")
    for name, seconds in rows:
        print(f"{name:<30} {seconds:>9.1f}  {seconds / anchor:>7.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
