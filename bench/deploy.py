"""Fleet deployment speed, side by side with pyinfra on the same containers, in one run.

    .venv/bin/python bench/deploy.py [--hosts 50] [--copy-mb 64] [--figures trivial,fleet,copy]

Boots N systemd-nspawn containers (declos.testing.nspawn; a rootfs with apache2-bin so
the trivial web server can run) and prints:

1. `declos deploy -d trivial` (machines/trivial.yaml + a physical file) no-op redeploy to
   one host, median of 5, process start included (goal <= 1 s; NixOps' manual: 3.7 s).
   Containers share this host's network, so a third file moves Apache to a free port and
   turns the firewall off (an nftables ruleset would apply to this host). Anchors in the
   same run, alternating with declos's runs: one `ssh HOST true` to the same container
   (the floor of any SSH deploy tool) and `python3 -c pass` (interpreter start).
2. The N-host fleet: first deploy and no-op redeploy of the same change (an /etc file, a
   unit file, the unit restarted when either changed) by `declos deploy` and by pyinfra
   (installed into its own venv under ~/.cache/declos, never the product's deps), with the
   deployer's peak RSS (goals: no-op <= 0.3x pyinfra, first <= 1x).
3. Closure copy throughput to one container: Host.copy_closure_to vs `tar | ssh` of the same
   bytes (goal >= 0.8x).
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
from pathlib import Path

import yaml

from declos.config import evaluate
from declos.hosts import HostKeyPolicy, MemoryKnownHosts, SSHHost
from declos.store import Store
from declos.testing import nspawn

ROOT = Path(__file__).resolve().parents[1]
PYINFRA_VENV = Path.home() / ".cache" / "declos" / "bench-venv-pyinfra"
UNIT = "[Unit]\nDescription=bench\n[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n"

PYINFRA_DEPLOY = """
import io
from pyinfra.operations import files, systemd
text = open({text!r}).read()
f = files.put(name="etc file", src=io.StringIO(text), dest="/etc/pyinfra-bench")
u = files.put(name="unit", src=io.StringIO({unit!r}), dest="/etc/systemd/system/pyinfra-bench.service")
systemd.daemon_reload(name="reload", _if=u.did_change)
systemd.service(name="enable", service="pyinfra-bench.service", running=True, enabled=True)
systemd.service(name="restart", service="pyinfra-bench.service", restarted=True,
                _if=lambda: f.did_change() or u.did_change())
"""


NOOPS = 3
CPU: dict[str, float] = {}
"""CPU seconds (user + system) of the last run of each label, for the report."""


def load() -> str:
    """The 1-minute load average, printed with every figure (the machine is shared)."""
    return f"load {os.getloadavg()[0]:.1f}"


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, int, str]:
    """(wall seconds, peak RSS in MB of the process, exit code, stderr tail); the process's
    CPU seconds go to CPU[argv[0]] (wall time is inflated when the machine is shared)."""
    t = time.perf_counter()
    wrapped = ["/usr/bin/time", "-f", "DECLOS-TIME %M %U %S", *argv]
    proc = subprocess.run(wrapped, env=env, cwd=cwd, capture_output=True)
    seconds = time.perf_counter() - t
    err = proc.stderr.decode(errors="replace")
    peak = 0.0
    for line in err.splitlines():
        if line.startswith("DECLOS-TIME "):
            _, kb, user, system = line.split()
            peak = int(kb) / 1024
            CPU[argv[0]] = float(user) + float(system)
    return seconds, peak, proc.returncode, err[-2000:]


def ensure_pyinfra() -> Path:
    exe = PYINFRA_VENV / "bin" / "pyinfra"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PYINFRA_VENV)], check=True)
        subprocess.run([str(PYINFRA_VENV / "bin" / "pip"), "install", "-q", "pyinfra"], check=True)
    return exe


def physical(fleet: nspawn.Fleet, names: list[str]) -> dict[str, object]:
    return {
        n: {
            "deployment": {
                "targetHost": "127.0.0.1",
                "targetPort": fleet[n].port,
                "sshKeyFile": str(fleet.client_key_file),
            }
        }
        for n in names
    }


CONTAINER = {
    **(
        {"boot.isContainer": True}
        if "isContainer" in (evaluate([]).to_json().get("boot") or {})
        else {}
    ),
    "networking.hostName": "",
    "networking.firewall.enable": False,
    "services.openssh.enable": False,
}


def declos(work: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "declos", *args]


def trivial_noop(fleet: nspawn.Fleet, work: Path, env: dict[str, str]) -> None:
    d = work / "trivial"
    d.mkdir()
    port = nspawn.free_port()
    # !force: the trivial machine enables openssh (whose port 22 would be this host's).
    tweaks = "".join(
        f"  {k}: !force {str(v).lower()}\n" for k, v in CONTAINER.items() if isinstance(v, bool)
    )
    tweaks += '  networking.hostName: !force ""\n' + f"  services.httpd.listenPort: {port}\n"
    # webserver.yaml says libvirt: this figure is about the container, an existing host.
    tweaks += "  deployment.targetEnv: !force none\n"
    (d / "container.yaml").write_text("webserver:\n" + tweaks)
    phys = physical(fleet, ["c00"])["c00"]
    (d / "physical.yaml").write_text(yaml.safe_dump({"webserver": phys}))
    files = [
        str(ROOT / "machines/trivial.yaml"),
        str(d / "physical.yaml"),
        str(d / "container.yaml"),
    ]
    env = dict(env, DECLOS_STATE=str(d / "state.db"))
    subprocess.run(
        declos(d, "create", "-d", "trivial", *files),
        env=env,
        cwd=d,
        check=True,
        capture_output=True,
    )
    store = ["--store-root", str(work / "store")]
    first = timed(declos(d, "deploy", "-d", "trivial", *store), env, d)
    if first[2] != 0:
        print(f"trivial first deploy failed ({first[2]}):\n{first[3]}")
        return
    c = fleet["c00"]
    kh = d / "known_hosts"
    kh.write_text(f"[127.0.0.1]:{c.port} ssh-ed25519 {c.host_key.get_base64()}\n")
    ssh = ["ssh", "-p", str(c.port), "-i", str(fleet.client_key_file), "-o", "BatchMode=yes"]
    ssh += ["-o", f"UserKnownHostsFile={kh}", "-o", "StrictHostKeyChecking=yes"]
    ssh += ["root@127.0.0.1", "true"]
    runs, cpu, sshs, pys = [], [], [], []
    for _ in range(5):
        runs.append(timed(declos(d, "deploy", "-d", "trivial", *store), env, d)[0])
        cpu.append(CPU[sys.executable])
        sshs.append(timed(ssh, env, d)[0])
        pys.append(timed([sys.executable, "-c", "pass"], env, d)[0])
    wall, floor, start = (statistics.median(x) for x in (runs, sshs, pys))
    print(
        f"trivial no-op redeploy, 1 host: {wall:.2f} s wall, "
        f"{statistics.median(cpu):.2f} s CPU, median of 5 (goal <= 1 s; NixOps 3.7 s); "
        f"runs {', '.join(f'{x:.2f}' for x in runs)}; anchors: ssh true {floor:.2f} s "
        f"(ratio {wall / floor:.2f}x), python -c pass {start:.2f} s (ratio "
        f"{wall / start:.2f}x); {load()}"
    )


def fleet_figures(fleet: nspawn.Fleet, names: list[str], work: Path, env: dict[str, str]) -> None:
    d = work / "fleet"
    d.mkdir()
    text = "".join(f"line {i} of the benchmark file\n" for i in range(200))
    (d / "bench.txt").write_text(text)
    logical = {
        "defaults": {
            **CONTAINER,
            "environment.etc.declos-bench.text": text,
            "systemd.services.declos-bench": {
                "wantedBy": ["multi-user.target"],
                "script": "exec sleep infinity",
                "restartTriggers": [text],
            },
        }
    }
    logical.update({n: {} for n in names})
    (d / "logical.yaml").write_text(yaml.safe_dump(logical))
    (d / "physical.yaml").write_text(yaml.safe_dump(physical(fleet, names)))
    denv = dict(env, DECLOS_STATE=str(d / "state.db"))
    subprocess.run(
        declos(d, "create", "-d", "bench", "logical.yaml", "physical.yaml"),
        env=denv,
        cwd=d,
        check=True,
        capture_output=True,
    )
    store = ["--store-root", str(work / "store")]
    dfirst = timed(declos(d, "deploy", "-d", "bench", *store), denv, d)
    dfirst_cpu = CPU[sys.executable]
    pyinfra = ensure_pyinfra()
    inv = d / "inventory.py"
    known = d / "known_hosts"
    known.write_text(
        "".join(
            f"[127.0.0.1]:{fleet[n].port} ssh-ed25519 {fleet[n].host_key.get_base64()}\n"
            for n in names
        )
    )
    hosts = ",\n".join(
        f"    ({n!r}, {{'ssh_hostname': '127.0.0.1', 'ssh_port': {fleet[n].port}, 'ssh_user': 'root', "
        f"'ssh_key': {str(fleet.client_key_file)!r}, 'ssh_known_hosts_file': {str(known)!r}}})"
        for n in names
    )
    inv.write_text(f"hosts = [\n{hosts}\n]\n")
    (d / "deploy.py").write_text(PYINFRA_DEPLOY.format(text=str(d / "bench.txt"), unit=UNIT))
    pargv = [str(pyinfra), "-y", "--parallel", str(len(names)), str(inv), str(d / "deploy.py")]
    pfirst = timed(pargv, env, d)
    pfirst_cpu = CPU[pargv[0]]
    # No-op redeploys: NOOPS of each, alternating, medians (the machine is shared).
    dnoops, pnoops, dcpu, pcpu = [], [], [], []
    for _ in range(NOOPS):
        dnoops.append(timed(declos(d, "deploy", "-d", "bench", *store), denv, d))
        dcpu.append(CPU[sys.executable])
        pnoops.append(timed(pargv, env, d))
        pcpu.append(CPU[pargv[0]])
    dnoop = min(dnoops, key=lambda x: abs(x[0] - statistics.median(y[0] for y in dnoops)))
    pnoop = min(pnoops, key=lambda x: abs(x[0] - statistics.median(y[0] for y in pnoops)))
    dnoop_cpu, pnoop_cpu = statistics.median(dcpu), statistics.median(pcpu)
    for label, x in (
        ("declos first", dfirst),
        ("declos no-op", dnoop),
        ("pyinfra first", pfirst),
        ("pyinfra no-op", pnoop),
    ):
        if x[2] != 0:
            print(f"{label} exited {x[2]}:\n{x[3]}")
    n = len(names)
    print(
        f"{n}-host fleet, first deploy: declos {dfirst[0]:.2f} s, pyinfra {pfirst[0]:.2f} s, "
        f"ratio {dfirst[0] / pfirst[0]:.2f}x (goal <= 1x); {load()}"
    )
    print(
        f"{n}-host fleet, no-op redeploy (median of {NOOPS}): declos {dnoop[0]:.2f} s "
        f"({', '.join(f'{x[0]:.2f}' for x in dnoops)}), pyinfra {pnoop[0]:.2f} s "
        f"({', '.join(f'{x[0]:.2f}' for x in pnoops)}), "
        f"ratio {dnoop[0] / pnoop[0]:.2f}x (goal <= 0.3x); {load()}"
    )
    print(
        f"deployer CPU seconds: declos {dfirst_cpu:.2f} first / {dnoop_cpu:.2f} no-op; "
        f"pyinfra {pfirst_cpu:.2f} / {pnoop_cpu:.2f}"
    )
    print(
        f"deployer peak RSS: declos {dfirst[1]:.0f} MB first / {dnoop[1]:.0f} MB no-op; "
        f"pyinfra {pfirst[1]:.0f} MB / {pnoop[1]:.0f} MB"
    )


def copy_figures(fleet: nspawn.Fleet, work: Path, mb: int, rounds: int = 3) -> None:
    """`rounds` alternating copies of a fresh random blob each; medians. Both include
    their connection setup (paramiko's handshake; ssh's process and handshake)."""
    c = fleet["c00"]
    store = Store.open(root=str(work / "copy-store"))
    known = MemoryKnownHosts()
    known.learn("127.0.0.1", c.port, c.host_key)
    kh = work / "kh"
    kh.write_text(f"[127.0.0.1]:{c.port} ssh-ed25519 {c.host_key.get_base64()}\n")
    ssh = f"ssh -p {c.port} -i {fleet.client_key_file} -o UserKnownHostsFile={kh} -o StrictHostKeyChecking=yes root@127.0.0.1"
    ours, tars = [], []
    for i in range(rounds):
        blob = work / f"blob{i}"
        blob.write_bytes(os.urandom(mb << 20))
        path = store.add_path(str(blob))
        host = SSHHost(
            "127.0.0.1",
            c.port,
            "root",
            key_file=fleet.client_key_file,
            known_hosts=known,
            policy=HostKeyPolicy.STRICT,
        )
        t = time.perf_counter()
        stats = host.copy_closure_to(store, [str(path)])
        ours.append(time.perf_counter() - t)
        host.close()
        assert len(stats.sent) == 1
        t = time.perf_counter()
        subprocess.run(
            f"tar -C {work} -cf - {blob.name} | {ssh} 'mkdir -p /tmp/tarcopy && tar -C /tmp/tarcopy -xf -'",
            shell=True,
            check=True,
        )
        tars.append(time.perf_counter() - t)
    o, t_ = statistics.median(ours), statistics.median(tars)
    print(
        f"closure copy of {mb} MiB (median of {rounds}): declos {mb / o:.0f} MiB/s "
        f"({', '.join(f'{mb / x:.0f}' for x in ours)}), tar|ssh {mb / t_:.0f} MiB/s "
        f"({', '.join(f'{mb / x:.0f}' for x in tars)}), ratio {t_ / o:.2f}x (goal >= 0.8x); "
        f"{load()}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--hosts", type=int, default=50)
    ap.add_argument("--copy-mb", type=int, default=64)
    ap.add_argument(
        "--figures",
        default="trivial,fleet,copy",
        help="comma-separated subset of trivial,fleet,copy (default: all)",
    )
    args = ap.parse_args()
    figures = set(args.figures.split(","))
    if not figures <= {"trivial", "fleet", "copy"}:
        ap.error(f"--figures: unknown {', '.join(sorted(figures - {'trivial', 'fleet', 'copy'}))}")
    why = nspawn.available()
    if why:
        print(f"bench/deploy.py: {why}", file=sys.stderr)
        return 2
    names = [f"c{i:02d}" for i in range(args.hosts)]
    work = Path(tempfile.mkdtemp(prefix="declos-bench-deploy-"))
    # Bytecode caching as users have it (this environment may set PYTHONDONTWRITEBYTECODE,
    # which makes every run compile every module again).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    legacy = "isContainer" not in (evaluate([]).to_json().get("boot") or {})
    fleet = nspawn.Fleet(
        work / "containers", names, extra=("apache2-bin",), no_container_option=legacy
    )
    t = time.perf_counter()
    try:
        fleet.start()
        print(f"{args.hosts} containers booted in {time.perf_counter() - t:.1f} s")
        if "trivial" in figures:
            trivial_noop(fleet, work, env)
        if "fleet" in figures:
            fleet_figures(fleet, names, work, env)
        if "copy" in figures:
            copy_figures(fleet, work, args.copy_mb)
    finally:
        fleet.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
