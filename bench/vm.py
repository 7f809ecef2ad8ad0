"""VM harness benchmark: image build (cold, cached), boot-to-SSH, starter suite.

    .venv/bin/python bench/vm.py            # cold figure from the cache manifest
    .venv/bin/python bench/vm.py --cold     # rebuild the image in a scratch cache (~2 min)
    .venv/bin/python bench/vm.py --no-suite # skip the starter vm-tests run

Each figure is printed beside its anchor from issue 4 / DESIGN.md, as a ratio
(ours / anchor; below 1.0 is better). Other work on the machine slows everything:
the load average is printed with the figures.
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

from declos.testing.driver import Driver  # noqa: E402
from declos.testing.spec import MachineSpec  # noqa: E402
from declos.virt.image import ImageRecipe, cache_root, ensure_image  # noqa: E402

STARTER = [
    "vm-tests/test_guest.py",
    "vm-tests/test_lan_lifecycle.py",
    "vm-tests/test_harness_parts.py",
]


def row(name: str, ours: float, anchor: float, note: str = "") -> None:
    print(f"{name:<34} {ours:>9.1f} s  {anchor:>7.1f} s  {ours / anchor:>6.2f}x  {note}")


def cold_build() -> float:
    with tempfile.TemporaryDirectory(prefix="declos-bench-cache-") as tmp:
        started = time.monotonic()
        ensure_image(ImageRecipe(), cache=Path(tmp))
        return time.monotonic() - started


def boot_to_ssh(runner: str) -> float:
    with tempfile.TemporaryDirectory(prefix=f"declos-bench-{runner}-") as scratch:
        driver = Driver(Path(scratch))
        try:
            spec = MachineSpec(f"bench-{runner}", memory=1024, vcpus=2, runner=runner)
            machine = driver.create(spec)
            started = time.monotonic()
            machine.start()
            machine.wait_for_ssh()
            return time.monotonic() - started
        finally:
            driver.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="rebuild the image from scratch")
    parser.add_argument("--no-suite", action="store_true", help="skip the starter suite")
    args = parser.parse_args()

    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    started = time.monotonic()
    image = ensure_image()
    first = time.monotonic() - started
    started = time.monotonic()
    ensure_image()
    cached = time.monotonic() - started
    if args.cold:
        cold, cold_note = cold_build(), "measured now (scratch cache)"
    else:
        cold = float(image.manifest.get("build_seconds", first))  # type: ignore[arg-type]
        cold_note = f"recorded when {image.key} was built ({image.manifest.get('built_at')})"
    boots = {runner: boot_to_ssh(runner) for runner in ("libvirt", "qemu")}
    suite = None
    if not args.no_suite:
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *STARTER],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        suite = time.monotonic() - started
        if proc.returncode != 0:
            print(proc.stdout[-3000:], file=sys.stderr)

    print(
        f"declos VM harness benchmark  (cache {cache_root()}; load average at start "
        f"{load_before}, at end {' '.join(f'{x:.2f}' for x in os.getloadavg())})"
    )
    print(f"{'figure':<34} {'ours':>11}  {'anchor':>9}  {'ratio':>7}")
    row("image build, cold", cold, 70.0, "anchor: mmdebstrap alone, DESIGN.md; " + cold_note)
    row("image ready, cached", cached, 5.0, "anchor: issue 4 aim (< 5 s)")
    for runner, seconds in boots.items():
        row(f"boot to SSH, {runner} (2 vCPUs TCG)", seconds, 25.0, "anchor: 20-25 s (DESIGN.md)")
    if suite is not None:
        row(
            "starter vm-tests suite",
            suite,
            300.0,
            "anchor: issue 4 aim (<= 5 min)" + ("" if proc.returncode == 0 else "  FAILED"),
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
