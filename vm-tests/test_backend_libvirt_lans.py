"""A libvirt deployment's private LAN, disk size and display, end to end (issue 11).

Deployment A has two machines (a1 with `headless: false` and `baseImageSize: 6`, a2 with
the defaults), deployment B one (b1). At most two VMs run at once (TCG on a shared 2-core
host): A's two are deployed, then the one with seat 1 (first come, first served: a1 or
a2, whichever creation thread joined the LAN first) is stopped and B's b1 deployed beside
the other. After every `declos` process has exited (the LANs are multicast groups on
127.0.0.1: no relay process keeps them alive):
- the machine at 192.168.1.1 pings the other at 192.168.1.2 on A's LAN;
- b1, which has the very same address and MAC on B's LAN as the stopped machine has on
  A's, does not reach the running one at 192.168.1.2: B's LAN is another group;
- a1's VNC display answers on 127.0.0.1; a1's root filesystem is about 6 GiB, a2's about
  10 GiB (the default), grown from the 4 GiB base image;
- `destroy --confirm` of both leaves no domain, no VM directory, no QEMU on the groups
  and no LAN in the state.

The boot timeout is 1500 s, not the default 600 s (under load 11 one boot alone took
450-630 s last session; three VMs booting at once at load 9-14 ran out of 600 s, and the
guest's 90 s wait for its seed disk device expired).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from declos.virt.libvirt_domain import open_connection

pytestmark = pytest.mark.vm

NETWORK_A = """\
a1:
  networking.hostName: a1
  services.openssh.enable: true
  deployment.targetEnv: libvirt
  deployment.libvirt: {memorySize: 512, headless: false, baseImageSize: 6, bootTimeout: 1500}
a2:
  networking.hostName: a2
  services.openssh.enable: true
  deployment.targetEnv: libvirt
  deployment.libvirt: {memorySize: 512, bootTimeout: 1500}
"""

NETWORK_B = """\
b1:
  networking.hostName: b1
  services.openssh.enable: true
  deployment.targetEnv: libvirt
  deployment.libvirt: {memorySize: 512, bootTimeout: 1500}
"""


def env(tmp: Path) -> dict[str, str]:
    return dict(os.environ, DECLOS_STATE=str(tmp / "state.db"), DECLOS_VM_DIR=str(tmp / "vms"))


def run(tmp: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "declos", *args],
        capture_output=True,
        text=True,
        env=env(tmp),
        cwd=tmp,
        timeout=timeout,
    )


def exported(tmp: Path, name: str) -> dict[str, object]:
    out = run(tmp, "export", "-d", name)
    assert out.returncode == 0, out.stderr
    (entry,) = json.loads(out.stdout)["deployments"].values()
    return dict(entry)


def domains(prefixes: list[str]) -> list[str]:
    names = [d.name() for d in open_connection().listAllDomains()]
    return sorted(n for n in names if any(n.startswith(p) for p in prefixes))


def root_size(tmp: Path, deployment: str, machine: str) -> int:
    r = run(tmp, "ssh", "-d", deployment, machine, "df", "-B1", "--output=size", "/")
    assert r.returncode == 0, r.stdout + r.stderr
    return int(r.stdout.split()[-1])


def deploy(tmp: Path, name: str) -> str:
    r = run(tmp, "deploy", "-d", name, "--store-root", str(tmp / "st"), timeout=2400)
    assert r.returncode == 0, f"deploy {name}:\n{r.stdout}{r.stderr}"
    return r.stderr


def test_a_deployments_machines_share_a_lan_another_deployment_does_not(tmp_path: Path) -> None:
    tmp = tmp_path
    (tmp / "a.yaml").write_text(NETWORK_A)
    (tmp / "b.yaml").write_text(NETWORK_B)
    uuids = []
    for name, path in (("A", "a.yaml"), ("B", "b.yaml")):
        r = run(tmp, "create", "-d", name, path)
        assert r.returncode == 0, r.stderr
        uuids.append(r.stdout.strip().split()[-1])
    prefixes = [f"declos-{u[:8]}-" for u in uuids]
    destroyed = False
    try:
        t0 = time.monotonic()
        log = deploy(tmp, "A")
        elapsed = time.monotonic() - t0
        # Seats go to machines in the order their creation threads reach the LAN (each
        # starts as its machine's evaluation ends): either may be .1; the state says which.
        a = exported(tmp, "A")
        machines_a = dict(a["machines"])  # type: ignore[call-overload]
        seat = {m: machines_a[m]["libvirt.lans"] for m in ("a1", "a2")}
        assert sorted(seat.values(), key=str) == [
            {"default": "192.168.1.1"},
            {"default": "192.168.1.2"},
        ], seat
        first, second = sorted(seat, key=lambda m: seat[m]["default"])
        assert f"{first}> on LAN default 192.168.1.1" in log
        assert f"{second}> on LAN default 192.168.1.2" in log
        assert "a1> grew the root filesystem to 6 GiB" in log
        lan_a = dict(a["attrs"])["libvirt.lans"]["default"]  # type: ignore[call-overload]
        assert lan_a["members"] == {first: 1, second: 2}
        assert lan_a["group"].startswith("239.255.")

        # The deploy has exited: the LAN is the QEMUs' multicast sockets alone.
        r = run(tmp, "ssh", "-d", "A", first, "ping", "-c", "3", "-W", "5", "192.168.1.2")
        assert r.returncode == 0, r.stdout + r.stderr
        assert " 0% packet loss" in r.stdout

        # a1's display: VNC on the loopback.
        display = str(machines_a["a1"]["libvirt.display"])
        assert display.startswith("vnc://127.0.0.1:"), display
        with socket.create_connection(("127.0.0.1", int(display.rsplit(":", 1)[1])), 10) as vnc:
            assert vnc.recv(12) == b"RFB 003.008\n"
        assert "libvirt.display" not in machines_a["a2"]  # headless by default

        gib = 1 << 30
        assert 5.5 * gib < root_size(tmp, "A", "a1") <= 6 * gib
        assert 9.5 * gib < root_size(tmp, "A", "a2") <= 10 * gib

        # B's machine beside `second` (`first` stopped: two VMs at a time), with the
        # address `first` has on A's LAN.
        r = run(tmp, "stop", "-d", "A", "--on", first)
        assert r.returncode == 0, r.stdout + r.stderr
        log = deploy(tmp, "B")
        assert "b1> on LAN default 192.168.1.1" in log
        b = exported(tmp, "B")
        assert dict(b["machines"])["b1"]["libvirt.lans"] == {"default": "192.168.1.1"}  # type: ignore[call-overload]
        lan_b = dict(b["attrs"])["libvirt.lans"]["default"]  # type: ignore[call-overload]
        assert lan_b["members"] == {"b1": 1}
        assert (lan_a["group"], lan_a["port"]) != (lan_b["group"], lan_b["port"])
        r = run(tmp, "ssh", "-d", "B", "b1", "ping", "-c", "3", "-W", "2", "192.168.1.2")
        assert r.returncode == 1, r.stdout + r.stderr
        assert "100% packet loss" in r.stdout
        r = run(tmp, "ssh", "-d", "B", "b1", "ip", "neigh", "show", "192.168.1.2")
        assert "lladdr" not in r.stdout, r.stdout  # no answer to its ARP requests either

        for name in ("A", "B"):
            r = run(tmp, "destroy", "-d", name, "--confirm")
            assert r.returncode == 0, r.stdout + r.stderr
        destroyed = True
    finally:  # a failed run must not leave VMs running on a shared host
        if not destroyed:
            for name in ("A", "B"):
                run(tmp, "destroy", "-d", name, "--confirm")
    assert domains(prefixes) == []
    assert sorted(p.name for p in (tmp / "vms").iterdir()) == []
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True)
    for lan in (lan_a, lan_b):
        assert f"mcast={lan['group']}:{lan['port']}" not in ps.stdout
    assert dict(exported(tmp, "A")["attrs"]).get("libvirt.lans") == {}  # type: ignore[call-overload]
    assert dict(exported(tmp, "B")["attrs"]).get("libvirt.lans") == {}  # type: ignore[call-overload]
    print(f"\nFIGURES deploy A (2 VMs created side by side): {elapsed:.1f} s")
