"""Driver: creates, schedules and destroys the VMs of a test session.

It owns the session's working directory, the cached base image, the LANs and every
Machine. Because the CI machine has two cores, at most `max_running` VMs run at once
(default 2, `DECLOS_VM_MAX_RUNNING`): before a machine is used, the least recently used
other running machine is paused (its vCPUs stop; RAM and state stay, resuming is
instant). Destroying a machine removes its domain, overlay, seed and keys; console logs
are kept under WORKDIR/logs.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from pathlib import Path

from declos.testing.log import ActionLog
from declos.testing.machine import Machine
from declos.testing.network import Lans
from declos.testing.spec import MachineSpec
from declos.virt.image import BaseImage, ImageRecipe, ensure_image
from declos.virt.libvirt_domain import reap_stale
from declos.virt.provision import VmRequest, provision

DOMAIN_PREFIX = "declos-t"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _owner_alive(domain_name: str) -> bool:
    """Domains are named declos-tPID-NAME; the owner is alive if PID still runs."""
    pid = domain_name[len(DOMAIN_PREFIX) :].split("-", 1)[0]
    return pid.isdigit() and Path(f"/proc/{pid}").exists()


class Driver:
    """All VMs of one test session."""

    def __init__(
        self,
        workdir: Path | None = None,
        max_running: int | None = None,
        recipe: ImageRecipe | None = None,
    ) -> None:
        self.workdir = workdir or Path(
            os.environ.get("DECLOS_VM_WORKDIR") or f"/tmp/declos-vm-{os.getpid()}"
        )
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "logs").mkdir(exist_ok=True)
        self.max_running = max_running or int(os.environ.get("DECLOS_VM_MAX_RUNNING", "2"))
        self.recipe = recipe or ImageRecipe()
        self.log = ActionLog(self.workdir / "logs" / "driver.log")
        self.lans = Lans(self.workdir / "lans")
        self.machines: dict[str, Machine] = {}
        self._last_used: dict[str, float] = {}
        self._image: BaseImage | None = None
        self._reaped = False

    @property
    def image(self) -> BaseImage:
        if self._image is None:
            with self.log.nested("ensuring the base image (cached after the first build)"):
                self._image = ensure_image(self.recipe, log=self.log.line)
        return self._image

    def create(self, spec: MachineSpec) -> Machine:
        """Prepare a machine (overlay, disks, keys, seed, domain); it is not started."""
        if spec.name in self.machines:
            raise ValueError(f"machine {spec.name!r} already exists in this session")
        with self.log.nested(
            f"{spec.name}: creating ({spec.runner}, {spec.memory} MiB, "
            f"{spec.vcpus} vCPUs, disks {list(spec.disks)}, "
            f"LANs {list(spec.lans)})"
        ):
            image = self.image
            if spec.runner == "libvirt":
                self._reap_stale()
            memberships = [
                self.lans.get(vlan).join(spec.name, index) for index, vlan in enumerate(spec.lans)
            ]
            hosts = {
                m.machine: m.address
                for vlan in spec.lans
                for m in self.lans.get(vlan).members
                if m.machine != spec.name
            }
            vm = provision(
                image,
                VmRequest(
                    hostname=spec.name,
                    domain_name=f"{DOMAIN_PREFIX}{os.getpid()}-{spec.name}",
                    workdir=self.workdir / "machines" / spec.name,
                    console_log=self.workdir / "logs" / f"{spec.name}.console.log",
                    ssh_port=free_port(),
                    memory_mib=spec.memory,
                    vcpus=spec.vcpus,
                    extra_disks_mib=spec.disks,
                    lan_nics=[m.nic for m in memberships],
                    lan_addresses=[f"{m.address}/24" for m in memberships],
                    hosts=hosts,
                    runner=spec.runner,
                ),
            )
            machine = Machine(
                spec,
                vm.domain,
                vm.ssh_port,
                vm.identity_file,
                vm.known_hosts,
                memberships,
                self.log,
                self._activate,
            )
            self.machines[spec.name] = machine
            return machine

    def _reap_stale(self) -> None:
        if self._reaped:
            return
        self._reaped = True
        for name in reap_stale(DOMAIN_PREFIX, _owner_alive):
            self.log.line(f"removed stale domain {name} of a dead session")

    def boot(self, *specs: MachineSpec) -> list[Machine]:
        """Create and start the machines together, then wait for SSH on each."""
        machines = [self.create(spec) for spec in specs]
        for machine in machines:
            machine.start()
        for machine in machines:
            machine.wait_for_ssh()
        return machines

    def last_used(self, name: str) -> float:
        """time.monotonic() of the machine's last action (0.0 if never used)."""
        return self._last_used.get(name, 0.0)

    def _activate(self, machine: Machine) -> None:
        """Make room for `machine` to run: pause the least recently used other VMs."""
        self._last_used[machine.name] = time.monotonic()
        others = [
            m
            for m in self.machines.values()
            if m is not machine and m.domain.is_running() and not m.domain.is_paused()
        ]
        others.sort(key=lambda m: self._last_used.get(m.name, 0.0))
        while len(others) + 1 > self.max_running and others:
            victim = others.pop(0)
            self.log.line(f"{victim.name}: pausing (at most {self.max_running} VMs run at once)")
            victim.domain.pause()
        if machine.domain.is_running() and machine.domain.is_paused():
            self.log.line(f"{machine.name}: resuming")
            machine.domain.resume()

    def destroy(self, machine: Machine) -> None:
        """Power off and forget the machine; delete its overlay, disks, seed and keys."""
        with self.log.nested(f"{machine.name}: destroying"):
            machine.host.close()
            machine.domain.power_off()
            machine.domain.undefine()
            for member in machine.lans:
                member.relay.stop()
            shutil.rmtree(machine.domain.spec.workdir, ignore_errors=True)
            self.machines.pop(machine.name, None)

    def close(self) -> None:
        """Destroy every machine and LAN; keep WORKDIR/logs."""
        for machine in list(self.machines.values()):
            try:
                self.destroy(machine)
            except Exception as exc:  # noqa: BLE001 - keep cleaning the others
                self.log.line(f"{machine.name}: cleanup failed: {exc}")
        self.lans.close()
        shutil.rmtree(self.workdir / "machines", ignore_errors=True)
        shutil.rmtree(self.workdir / "lans", ignore_errors=True)
