"""`targetEnv: virtualbox`: a VirtualBox VM driven through the documented `VBoxManage` CLI.

NixOps' vbox backend (reference/deploy.md §2a), with this project's network rule and the
libvirt backend's timeouts and diagnostics:

- create: `createvm --name N --ostype Debian_64 --register`; `storagectl N --name SATA
  --add sata --portcount 8 --bootable on --hostiocache on`; per disk either a
  differencing disk on its base image (`createmedium disk --filename D --diffparent B
  --format VDI`) or a blank one (`createmedium disk --filename D --size MB --format VDI`),
  attached with `storageattach N --storagectl SATA --port P --device 0 --type hdd
  --medium D`; `modifyvm N --memory M --vram 10 --nictype1 virtio --nic1 nat --natpf1
  ssh,tcp,127.0.0.1,PORT,,22 [--cpus C] [vmFlags...]` (NAT with a port forward on
  127.0.0.1 — never a host-only network); the generated host key and the deployer's
  public key as guest properties (`guestproperty set N /VirtualBox/GuestInfo/Declos/...`),
  read by the guest before sshd starts, as NixOps' image does;
- start: clear `/VirtualBox/GuestInfo/Net/0/V4/IP`, `startvm N --type headless|gui`, wait
  (with `bootTimeout`) for the guest additions to report the IP, then for sshd's banner
  on the forwarded port; a timeout quotes the last lines of `showvminfo N --log 0`;
- stop: `controlvm N acpipowerbutton`, poll `showvminfo --machinereadable` until
  `VMState="poweroff"`, else `controlvm N poweroff` (saying so);
- destroy: `controlvm N poweroff` when running, `unregistervm N --delete`, and the
  machine's directory.

`VBoxManage` is taken from `$DECLOS_VBOXMANAGE`, else PATH.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from declos.deploy.backends.base import BackendError, MachineContext, Placement
from declos.deploy.backends.local_vm import LOOPBACK, LocalVmBackend, free_port, vm_root
from declos.hosts.banner import banner_ready
from declos.virt.ssh_keys import KeyPair

DEFAULT_BOOT_TIMEOUT = 600
IP_PROPERTY = "/VirtualBox/GuestInfo/Net/0/V4/IP"
HOST_KEY_PROPERTY = "/VirtualBox/GuestInfo/Declos/PrivateHostEd25519Key"
CLIENT_KEY_PROPERTY = "/VirtualBox/GuestInfo/Declos/ClientPublicKey"
LOG_LINES = 20


def vboxmanage() -> str:
    found = os.environ.get("DECLOS_VBOXMANAGE") or shutil.which("VBoxManage")
    if not found:
        raise BackendError(
            "targetEnv virtualbox needs VirtualBox's VBoxManage, which is not on PATH "
            "(set DECLOS_VBOXMANAGE to its path)"
        )
    return found


def vm_name(deployment_uuid: str, machine: str) -> str:
    return f"declos-{deployment_uuid[:8]}-{machine}"


class VBox:
    """`VBoxManage` calls; every failure is a BackendError quoting the command's stderr."""

    def __init__(self, machine: str) -> None:
        self.machine = machine
        self.binary = vboxmanage()

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [self.binary, *args], capture_output=True, text=True, check=False, timeout=300
        )
        if check and proc.returncode != 0:
            raise BackendError(
                f"machine {self.machine!r}: `VBoxManage {' '.join(args[:2])} ...` failed "
                f"(exit {proc.returncode}): {proc.stderr.strip()}"
            )
        return proc

    def info(self, vm: str) -> dict[str, str] | None:
        """`showvminfo --machinereadable` as a dict; None when the VM is not registered."""
        proc = self("showvminfo", vm, "--machinereadable", check=False)
        if proc.returncode != 0:
            return None
        out = {}
        for line in proc.stdout.splitlines():
            key, sep, value = line.partition("=")
            if sep:
                out[key.strip('"')] = value.strip('"')
        return out

    def property(self, vm: str, name: str) -> str | None:
        out = self("guestproperty", "get", vm, name).stdout.strip()
        return out[len("Value: ") :] if out.startswith("Value: ") else None

    def log_tail(self, vm: str) -> str:
        proc = self("showvminfo", vm, "--log", "0", check=False)
        lines = [x for x in proc.stdout.splitlines() if x.strip()][-LOG_LINES:]
        return "\n".join(lines) or "(no VBox.log output)"


class VirtualBoxBackend(LocalVmBackend):
    target_env = "virtualbox"
    prefix = "virtualbox"
    id_attr = "virtualbox.vmId"
    noun = "VM"

    def placement(self, attrs: Mapping[str, Any]) -> Placement | None:
        if not attrs.get(self.id_attr):
            return None
        key = str(Path(attrs["virtualbox.dir"]) / "id_ed25519")
        return Placement(LOOPBACK, int(attrs["virtualbox.sshPort"]), key, {})

    def status(self, attrs: Mapping[str, Any]) -> str:
        if not attrs.get("virtualbox.vmId"):
            return "not created"
        info = VBox("?").info(str(attrs["virtualbox.vmId"]))
        if info is None:
            return "missing"
        state = info.get("VMState", "unknown")
        return {"poweroff": "shut off", "aborted": "shut off (aborted)"}.get(state, state)

    # -- lifecycle --------------------------------------------------------------------

    def ensure_up(self, ctx: MachineContext) -> Placement:
        attrs = ctx.attrs
        if attrs.get("virtualbox.vmId"):
            state = self.status(attrs)
            if state == "missing":
                ctx.log(
                    f"VM {attrs['virtualbox.vmId']} is missing (deleted outside declos): "
                    "creating the machine anew"
                )
                self._remove_files(ctx, attrs)
            else:
                if state != "running":
                    self._start(ctx, attrs)
                self._wait(ctx, attrs)
                placement = self.placement(attrs)
                assert placement is not None
                return placement
        return self._create(ctx)

    def start(self, ctx: MachineContext) -> str:
        attrs = self._created(ctx)
        state = self.status(attrs)
        if state == "missing":
            raise BackendError(self._missing(ctx, attrs))
        if state == "running":
            return f"{attrs['virtualbox.vmId']} is already running"
        t0 = time.monotonic()
        self._start(ctx, attrs)
        self._wait(ctx, attrs)
        ctx.record(status="up" if attrs.get("toplevel") else "created")
        return (
            f"started {attrs['virtualbox.vmId']}; SSH answered after {time.monotonic() - t0:.1f} s"
        )

    def stop(self, ctx: MachineContext, timeout: float) -> str:
        attrs = self._created(ctx)
        vm = str(attrs["virtualbox.vmId"])
        state = self.status(attrs)
        if state == "missing":
            raise BackendError(self._missing(ctx, attrs))
        if state.startswith("shut off"):
            return f"{vm} is already shut off"
        vbox = VBox(ctx.name)
        t0 = time.monotonic()
        vbox("controlvm", vm, "acpipowerbutton")
        while time.monotonic() - t0 < timeout:
            if self.status(attrs).startswith("shut off"):
                ctx.record(status="stopped")
                return f"shut down {vm} (ACPI) in {time.monotonic() - t0:.1f} s"
            time.sleep(1.0)
        vbox("controlvm", vm, "poweroff")
        ctx.record(status="stopped")
        return (
            f"{vm} did not shut down within {timeout:.0f} s after the ACPI power button: "
            "powered it off hard"
        )

    def destroy(self, ctx: MachineContext) -> str:
        attrs = ctx.attrs
        if not attrs.get("virtualbox.vmId"):
            raise self._never_created(ctx)
        vm = str(attrs["virtualbox.vmId"])
        vbox = VBox(ctx.name)
        state = self.status(attrs)
        if state not in ("missing",) and not state.startswith("shut off"):
            vbox("controlvm", vm, "poweroff")
            deadline = time.monotonic() + 60
            while not self.status(attrs).startswith("shut off"):
                if time.monotonic() > deadline:
                    raise BackendError(f"machine {ctx.name!r}: {vm} did not power off within 60 s")
                time.sleep(1.0)
        if state != "missing":
            vbox("unregistervm", vm, "--delete")
        self._remove_files(ctx, attrs)
        self._forget(ctx)
        return f"destroyed {vm} and removed {attrs['virtualbox.dir']}"

    # -- helpers ----------------------------------------------------------------------

    def _disks(self, ctx: MachineContext, v: Mapping[str, Any]) -> list[tuple[str, int, int, str]]:
        """(name, port, size MiB, base image) per disk, in port order; checked."""
        disks = sorted(
            (
                (
                    str(n),
                    int(d.get("port", 0)),
                    int(d.get("size", 0)),
                    str(d.get("baseImage") or ""),
                )
                for n, d in (v.get("disks") or {}).items()
            ),
            key=lambda d: d[1],
        )
        where = f"machine {ctx.name!r}: deployment.virtualbox.disks"
        if not any(base for _n, _p, _s, base in disks):
            raise BackendError(
                f"{where} needs a disk with a baseImage (a bootable VDI/VMDK whose guest reads "
                "the declos guest properties; declos builds none for VirtualBox)"
            )
        ports = [p for _n, p, _s, _b in disks]
        if len(set(ports)) != len(ports) or any(p >= 8 for p in ports):
            raise BackendError(f"{where}: each disk needs its own SATA port 0-7 (got {ports})")
        for name, _p, size, base in disks:
            if base and not Path(base).is_file():
                raise BackendError(f"{where}.{name}.baseImage {base!r} does not exist")
            if not base and size <= 0:
                raise BackendError(f"{where}.{name}: a disk without baseImage needs a size (MiB)")
        return disks

    def _create(self, ctx: MachineContext) -> Placement:
        v = ctx.values.get("virtualbox") or {}
        disks = self._disks(ctx, v)
        vbox = VBox(ctx.name)
        vm = vm_name(ctx.deployment.uuid, ctx.name)
        directory = vm_root() / ctx.deployment.uuid / ctx.name
        directory.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if directory.exists():
            shutil.rmtree(directory)
        directory.mkdir(mode=0o700)
        client = KeyPair.generate(f"declos@{ctx.name}")
        client.write(directory / "id_ed25519")
        host_key = KeyPair.generate(f"root@{ctx.name}")
        port = free_port()
        vbox(
            "createvm",
            "--name",
            vm,
            "--ostype",
            "Debian_64",
            "--basefolder",
            str(directory),
            "--register",
        )
        # Recorded at once: a failure below leaves a VM that `destroy` can remove.
        ctx.record(
            backend="virtualbox",
            status="created",
            host=LOOPBACK,
            port=port,
            **{
                "virtualbox.vmId": vm,
                "virtualbox.dir": str(directory),
                "virtualbox.sshPort": port,
                "virtualbox.headless": bool(v.get("headless", False)),
                "virtualbox.created": time.time(),
            },
        )
        vbox("storagectl", vm, "--name", "SATA", "--add", "sata", "--portcount", "8",
             "--bootable", "on", "--hostiocache", "on")  # fmt: skip
        for name, sata_port, size, base in disks:
            medium = directory / f"{name}.vdi"
            if base:
                vbox("createmedium", "disk", "--filename", str(medium), "--diffparent", base,
                     "--format", "VDI")  # fmt: skip
            else:
                vbox("createmedium", "disk", "--filename", str(medium), "--size", str(size),
                     "--format", "VDI")  # fmt: skip
            vbox("storageattach", vm, "--storagectl", "SATA", "--port", str(sata_port),
                 "--device", "0", "--type", "hdd", "--medium", str(medium))  # fmt: skip
        modify = ["modifyvm", vm, "--memory", str(int(v.get("memorySize", 512))), "--vram", "10",
                  "--nictype1", "virtio", "--nic1", "nat",
                  "--natpf1", f"ssh,tcp,{LOOPBACK},{port},,22"]  # fmt: skip
        if v.get("vcpu"):
            modify += ["--cpus", str(int(v["vcpu"]))]
        vbox(*modify, *[str(f) for f in v.get("vmFlags") or []])
        vbox("guestproperty", "set", vm, HOST_KEY_PROPERTY, host_key.private_openssh)
        key_type, key_b64 = host_key.public_key_only.split()
        ctx.state.learn_host_key(ctx.deployment, LOOPBACK, port, key_type, key_b64)
        ctx.log(
            f"created VirtualBox VM {vm}, SSH on {LOOPBACK}:{port}, host key {key_type} "
            "recorded before first contact"
        )
        attrs = ctx.attrs
        self._start(ctx, attrs, client.public_openssh)
        self._wait(ctx, attrs)
        placement = self.placement(attrs)
        assert placement is not None
        return placement

    def _start(
        self, ctx: MachineContext, attrs: Mapping[str, Any], client: str | None = None
    ) -> None:
        vm = str(attrs["virtualbox.vmId"])
        vbox = VBox(ctx.name)
        if client is None:
            client = (
                Path(str(Path(attrs["virtualbox.dir"]) / "id_ed25519") + ".pub").read_text().strip()
            )
        vbox("guestproperty", "set", vm, IP_PROPERTY, "")
        vbox("guestproperty", "set", vm, CLIENT_KEY_PROPERTY, client)
        kind = "headless" if attrs.get("virtualbox.headless") else "gui"
        vbox("startvm", vm, "--type", kind)

    def _wait(self, ctx: MachineContext, attrs: Mapping[str, Any]) -> None:
        """The guest additions' IP report, then sshd's banner; both within bootTimeout."""
        vm = str(attrs["virtualbox.vmId"])
        port = int(attrs["virtualbox.sshPort"])
        vbox = VBox(ctx.name)
        limit = float(
            (ctx.values.get("virtualbox") or {}).get("bootTimeout") or DEFAULT_BOOT_TIMEOUT
        )
        deadline = time.monotonic() + limit
        waiting: Sequence[str] = ("the guest's IP report", IP_PROPERTY)
        while True:
            if waiting and vbox.property(vm, IP_PROPERTY):
                ctx.log(f"{vm}: guest reports IP {vbox.property(vm, IP_PROPERTY)}")
                waiting = ()
            if not waiting and banner_ready(LOOPBACK, port):
                return
            state = self.status(attrs)
            if state != "running":
                raise BackendError(
                    f"machine {ctx.name!r}: the VM is {state} while waiting for SSH; last "
                    f"VBox.log lines:\n{vbox.log_tail(vm)}"
                )
            if time.monotonic() >= deadline:
                what = f"{waiting[0]} ({waiting[1]})" if waiting else f"SSH on {LOOPBACK}:{port}"
                raise BackendError(
                    f"machine {ctx.name!r}: {what} did not come within {limit:.0f} s "
                    f"(deployment.virtualbox.bootTimeout); last VBox.log lines:\n"
                    f"{vbox.log_tail(vm)}"
                )
            time.sleep(1.0)
