"""Benchmark: building the trivial system closure, cold and warm, next to its anchors.

Usage: .venv/bin/python bench/switch.py [--config machines/trivial.yaml] [--runs 5]

Prints, for `declos build --root TMP` run as a user runs it (new process each time):
  cold   a fresh store under TMP (everything added: activator, scripts, texts, TOP)
  warm   the same config again (nothing added; the aim is < 1 s)
next to the anchors measured in the same run:
  eval   `declos eval` of the same config: the floor a warm build cannot go under
  nix    real Nix storing the same TOP tree (`nix-store --add` into a fresh chroot store)
and the ratios. With --vm it also boots one guest (declos.testing, TCG), copies a
two-service closure into it, and times inside the guest (no SSH round trip counted):
  no-op switch         `TOP/activate switch` of the active generation
  one unit changed     a switch to a closure where one service's script differs
  daemon-reload        `systemctl daemon-reload`, the floor every real switch pays
(aim: no-op switch < 1 s + daemon-reload).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
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
    parser.add_argument(
        "--vm", action="store_true", help="also time switch inside a VM (slow: boots a guest)"
    )
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
                nixes.append(
                    timed(
                        ["nix-store", "--store", f"local?root={nix_root}", "--add", tree], env=env
                    )[0]
                )
        cold, warm, ev = (statistics.median(x) for x in (colds, warms, evals))
        print(
            f"system closure of {args.config}: {top.rsplit('/', 1)[-1]}  (median of {args.runs} runs)"
        )
        print(f"  declos build, cold          {cold * 1000:8.1f} ms")
        print(
            f"  declos build, warm          {warm * 1000:8.1f} ms   aim < 1000 ms: {warm / 1.0:.2f}x of the aim"
        )
        print(
            f"  declos eval (floor)         {ev * 1000:8.1f} ms   warm build / eval = {warm / ev:.2f}"
        )
        if nixes:
            nix = statistics.median(nixes)
            print(
                f"  nix-store --add of TOP      {nix * 1000:8.1f} ms   cold build / nix add = {cold / nix:.2f}"
            )
        else:
            print("  nix-store not installed: no Nix anchor (apt-get install nix-bin)")
        if args.vm:
            vm_bench(work, args.runs)
        else:
            print("  switch in a VM vs systemctl daemon-reload: not measured (run with --vm)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


BENCH_CONFIG = """\
networking.hostName: bench
services.openssh.enable: true
systemd.services.bench-a:
  script: exec sleep infinity
  wantedBy: [multi-user.target]
systemd.services.bench-b:
  script: "exec sleep infinity # {version}"
  wantedBy: [multi-user.target]
"""


def build_config(work: str, root: str, version: str) -> str:
    path = os.path.join(work, f"bench-{version}.yaml")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(BENCH_CONFIG.format(version=version))
    return timed([*DECLOS, "build", "-c", path, "--root", root])[1]


def closure_tar(root: str, tops: list[str], dest: str) -> None:
    """The closures of `tops` as a tarball of STORE paths, extracted at / in the guest."""
    sys.path.insert(0, REPO)
    from declos.store import Store

    store = Store.open(root=root)
    paths = sorted(set(store.closure(tops)))
    with tarfile.open(dest, "w") as tar:
        for path in paths:
            tar.add(f"{root}{path}", arcname=path.lstrip("/"))


def in_guest_ms(machine: object, command: str) -> float:
    """Wall time of `command` measured inside the guest, in ms (fails on non-zero exit)."""
    script = f"s=$(date +%s%N); {command} >/tmp/bench.out 2>&1; rc=$?; e=$(date +%s%N); echo $rc $(( (e-s)/1000 ))"
    rc, micros = machine.succeed(f"sh -c '{script}'").split()  # type: ignore[attr-defined]
    if rc not in ("0",):
        out = machine.succeed("cat /tmp/bench.out")  # type: ignore[attr-defined]
        raise SystemExit(f"in the guest, {command} exited {rc}:\n{out}")
    return int(micros) / 1000


def vm_bench(work: str, runs: int) -> None:
    sys.path.insert(0, REPO)
    from declos.testing.driver import Driver
    from declos.testing.spec import MachineSpec

    root = os.path.join(work, "vmroot")
    os.mkdir(root)
    top_a = build_config(work, root, "a")
    top_b = build_config(work, root, "b")
    tar = os.path.join(work, "closure.tar")
    closure_tar(root, [top_a, top_b], tar)
    driver = Driver(workdir=__import__("pathlib").Path(work) / "vm")
    try:
        [machine] = driver.boot(MachineSpec("bench", memory=1024, vcpus=2))
        machine.copy_from_host(tar, "/tmp/closure.tar")
        machine.succeed("tar -C / -xf /tmp/closure.tar && rm /tmp/closure.tar")
        in_guest_ms(machine, f"{top_a}/activate switch")
        reload = [in_guest_ms(machine, "systemctl daemon-reload") for _ in range(runs)]
        noop = [in_guest_ms(machine, f"{top_a}/activate switch") for _ in range(runs)]
        changed = []
        for i in range(runs):
            changed.append(
                in_guest_ms(machine, f"{top_b if i % 2 == 0 else top_a}/activate switch")
            )
    finally:
        driver.close()
    floor = statistics.median(reload)
    aim = 1000 + floor
    print(
        f"  VM: systemctl daemon-reload {floor:8.1f} ms   (the floor; TCG guest, median of {runs})"
    )
    for label, values in (("no-op switch", noop), ("one unit changed switch", changed)):
        value = statistics.median(values)
        print(
            f"  VM: {label:<24}{value:8.1f} ms   / daemon-reload = {value / floor:.2f}"
            f"   / aim (1000 ms + reload = {aim:.0f} ms) = {value / aim:.2f}"
        )


if __name__ == "__main__":
    sys.exit(main())
