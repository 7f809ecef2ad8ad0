"""Cost of PostgreSQL deployment state next to SQLite, in one run (issue 11 figures).

    .venv/bin/python bench/backends.py [--machines 50] [--runs 5]

Starts a throwaway PostgreSQL server (declos.testing.postgres: unix socket only), records
a deployment of N machines in a fresh SQLite file and in a fresh PostgreSQL database (the
attributes a deploy writes, one host key each), and prints, median of RUNS, for both
stores and as the ratio PostgreSQL / SQLite:

1. `declos info -d fleet --no-eval` (a process: start, state, table) — the state side
   of `info`; with evaluation the network's evaluation dominates both equally;
2. the state work of a no-op `declos deploy` of N machines, in process: take and release
   the deployment lock, per machine one host-key lookup, the outcome attributes and one
   deploy-log row (what fleet.deploy writes; the SSH probes are the same for both stores
   and are not part of this figure).

The libvirt figures (deploy-to-activated, no-op redeploy, start-to-SSH) come from
vm-tests/test_backend_libvirt.py, which prints them (`FIGURES ...`) next to nothing else:
the harness's own boot-to-SSH is in its log in the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from declos.deploy.lock import deployment_lock
from declos.deploy.state import State
from declos.testing.postgres import PostgresServer


def populate(location: str, workdir: Path, machines: int) -> None:
    network = workdir / "fleet.yaml"
    network.write_text(
        "".join(
            f"m{i:03d}:\n  deployment.targetHost: 127.0.0.1\n  deployment.targetPort: {2200 + i}\n"
            for i in range(machines)
        )
    )
    with State(location) as state:
        dep = state.create("fleet", [str(network)])
        for i in range(machines):
            name = f"m{i:03d}"
            state.update_machine(
                dep, name, backend="none", host="127.0.0.1", port=2200 + i, status="up",
                toplevel=f"/declos/store/{i:032d}-declos-system-{name}",
                generation="system-1-link", lastOutcome="deployed", lastMessage="",
                lastDeploy=time.time(),
            )  # fmt: skip
            state.learn_host_key(dep, "127.0.0.1", 2200 + i, "ssh-ed25519", f"AAAA{i:040d}")


def info_seconds(location: str, workdir: Path) -> float:
    env = dict(os.environ, DECLOS_STATE=location)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "declos", "info", "-d", "fleet", "--no-eval"],
        capture_output=True, text=True, env=env, cwd=workdir, check=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"declos info failed: {proc.stderr}")
    return elapsed


def noop_state_seconds(location: str, machines: int) -> float:
    with State(location) as state:
        dep = state.find("fleet")
        t0 = time.perf_counter()
        with deployment_lock(state, dep, "declos deploy"):
            for i in range(machines):
                name = f"m{i:03d}"
                state.host_keys(dep, "127.0.0.1", 2200 + i)
                state.update_machine(
                    dep, name, backend="none", host="127.0.0.1", port=2200 + i,
                    lastOutcome="unchanged", lastMessage="", lastDeploy=time.time(), status="up",
                    toplevel=f"/declos/store/{i:032d}-declos-system-{name}",
                    generation="system-1-link",
                )  # fmt: skip
                state.log_deploy(dep, name, time.time(), "unchanged", None)
        return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--machines", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="declos-bench-state-") as tmp, PostgresServer() as pg:
        workdir = Path(tmp)
        stores = {"sqlite": str(workdir / "state.db"), "postgresql": pg.create_database("bench")}
        for location in stores.values():
            populate(location, workdir, args.machines)
        results: dict[str, dict[str, float]] = {}
        for label, location in stores.items():
            info = [info_seconds(location, workdir) for _ in range(args.runs)]
            noop = [noop_state_seconds(location, args.machines) for _ in range(args.runs)]
            results[label] = {"info": statistics.median(info), "noop": statistics.median(noop)}
    n = args.machines
    print(f"{n} machines, median of {args.runs}; load average {os.getloadavg()[0]:.1f}")
    print(f"{'':44} {'sqlite':>9} {'postgresql':>11} {'ratio':>7}")
    for key, what in (
        ("info", f"declos info --no-eval ({n} machines, process)"),
        ("noop", f"state work of a no-op deploy ({n} machines)"),
    ):
        s, p = results["sqlite"][key], results["postgresql"][key]
        print(f"{what:44} {s:8.3f}s {p:10.3f}s {p / s:6.2f}x")


if __name__ == "__main__":
    main()
