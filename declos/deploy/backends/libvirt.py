"""`targetEnv: libvirt`: a VM under libvirt, created by the first `declos deploy`.

NixOps' libvirtd backend with its users' complaints fixed (docs/backends.md):
- the disk is a qcow2 overlay on the cached base image of `declos.virt` (nothing is
  copied, the base is never written);
- the deployer's key and a host key generated here reach the VM on its seed disk before
  sshd starts, and the host key goes into the deployment's `host_keys` at creation, so
  the very first connection is strict (NixOps used accept-new);
- SSH is reached through a port forwarded on 127.0.0.1 (no libvirt network, no DHCP
  lease to wait for), and the wait has a timeout whose error quotes the console;
- `stop` is an ACPI shutdown with a timeout before the hard power-off (NixOps' stop was
  `virDomainDestroy`, a pulled plug);
- the machines of a deployment share private LANs (`networks`, declos/deploy/backends/
  lans.py): multicast groups on 127.0.0.1 that need no process, never a libvirt network;
- `baseImageSize` grows the overlay, and the root filesystem is grown over SSH right after
  the first boot; `headless: false` adds a VNC display on 127.0.0.1.

Files of a machine live in `vm_root()/<deployment uuid>/<machine>/` (overlay, seed disk,
deployer key, console log); `destroy` removes that directory and the domain.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import declos.hosts
from declos.deploy.backends.base import BackendError, MachineContext, Placement
from declos.deploy.backends.lans import LanBook, addresses, check_names
from declos.deploy.backends.local_vm import LOOPBACK, LocalVmBackend, free_port, vm_root
from declos.deploy.known_hosts import StateKnownHosts
from declos.hosts.banner import banner_ready
from declos.virt.disks import GIB, virtual_size
from declos.virt.errors import VirtError
from declos.virt.image import BaseImage, ensure_image
from declos.virt.libvirt_domain import URI, LibvirtDomain, open_connection
from declos.virt.provision import VmRequest, provision

DEFAULT_BOOT_TIMEOUT = 600  # seconds; TCG on a loaded 2-core host can take minutes
CONSOLE_LINES = 20


def domain_name(deployment_uuid: str, machine: str) -> str:
    return f"declos-{deployment_uuid[:8]}-{machine}"


class LibvirtBackend(LocalVmBackend):
    target_env = "libvirt"
    prefix = "libvirt"
    id_attr = "libvirt.domain"
    noun = "domain"

    def __init__(self) -> None:
        self.lans = LanBook()

    # -- where ------------------------------------------------------------------------

    def placement(self, attrs: Mapping[str, Any]) -> Placement | None:
        if not attrs.get(self.id_attr):
            return None
        forwards = {int(g): int(h) for g, h in (attrs.get("libvirt.forwards") or {}).items()}
        return Placement(
            LOOPBACK,
            int(attrs["libvirt.sshPort"]),
            str(Path(attrs["libvirt.dir"]) / "id_ed25519"),
            forwards,
        )

    def _handle(self, attrs: Mapping[str, Any]) -> LibvirtDomain:
        uri = str(attrs.get("libvirt.uri") or URI)
        try:
            conn = open_connection(uri)
        except VirtError as exc:
            raise BackendError(str(exc)) from exc
        console = Path(attrs["libvirt.dir"]) / "console.log"
        return LibvirtDomain.attach(str(attrs["libvirt.domain"]), console, conn)

    def status(self, attrs: Mapping[str, Any]) -> str:
        if not attrs.get("libvirt.domain"):
            return "not created"
        return self._handle(attrs).state_name()

    # -- lifecycle --------------------------------------------------------------------

    def ensure_up(self, ctx: MachineContext) -> Placement:
        attrs = ctx.attrs
        if attrs.get("libvirt.domain"):
            dom = self._handle(attrs)
            state = dom.state_name()
            placement = self.placement(attrs)
            assert placement is not None
            if state == "missing":
                ctx.log(
                    f"domain {attrs['libvirt.domain']} is missing (deleted outside declos): "
                    "creating the machine anew"
                )
                self._remove_files(ctx, attrs)
            else:
                self._note_changed_lans(ctx, attrs)
                if state != "running":
                    ctx.log(f"domain {attrs['libvirt.domain']} is {state}: starting it")
                    self._power_on(ctx, dom)
                self._wait_for_ssh(ctx, dom, placement.port)
                return placement
        return self._create(ctx)

    def start(self, ctx: MachineContext) -> str:
        attrs = self._created(ctx)
        dom = self._handle(attrs)
        state = dom.state_name()
        if state == "missing":
            raise BackendError(self._missing(ctx, attrs))
        port = int(attrs["libvirt.sshPort"])
        if state == "running":
            return f"{attrs['libvirt.domain']} is already running"
        t0 = time.monotonic()
        self._power_on(ctx, dom)
        self._wait_for_ssh(ctx, dom, port)
        ctx.record(status="up" if attrs.get("toplevel") else "created")
        return (
            f"started {attrs['libvirt.domain']}; SSH answered after {time.monotonic() - t0:.1f} s"
        )

    def stop(self, ctx: MachineContext, timeout: float) -> str:
        attrs = self._created(ctx)
        dom = self._handle(attrs)
        state = dom.state_name()
        if state == "missing":
            raise BackendError(self._missing(ctx, attrs))
        if state == "shut off":
            return f"{attrs['libvirt.domain']} is already shut off"
        t0 = time.monotonic()
        graceful = dom.stop(timeout)
        ctx.record(status="stopped")
        if graceful:
            return f"shut down {attrs['libvirt.domain']} (ACPI) in {time.monotonic() - t0:.1f} s"
        return (
            f"{attrs['libvirt.domain']} did not shut down within {timeout:.0f} s after the ACPI "
            "power button: powered it off hard"
        )

    def destroy(self, ctx: MachineContext) -> str:
        attrs = ctx.attrs
        if not attrs.get("libvirt.domain"):
            raise self._never_created(ctx)
        dom = self._handle(attrs)
        try:
            dom.undefine()  # powers it off first when it runs
        except VirtError as exc:
            raise BackendError(str(exc)) from exc
        self._remove_files(ctx, attrs)
        self.lans.leave(ctx.state, ctx.deployment, ctx.name)
        self._forget(ctx)
        return f"destroyed {attrs['libvirt.domain']} and removed {attrs['libvirt.dir']}"

    # -- helpers ----------------------------------------------------------------------

    def _power_on(self, ctx: MachineContext, dom: LibvirtDomain) -> None:
        """Start the domain; a display's address (libvirt picks its port at each start)
        goes into the machine attribute `libvirt.display`."""
        try:
            dom.start()
        except VirtError as exc:
            raise BackendError(str(exc)) from exc
        display = dom.display()
        if display:
            ctx.record(**{"libvirt.display": display})
            ctx.log(f"display (VNC) on {display}")

    def _note_changed_lans(self, ctx: MachineContext, attrs: Mapping[str, Any]) -> None:
        """A created VM keeps its NICs: say so when `networks` no longer matches them."""
        v = ctx.values.get("libvirt")
        if not v:
            return
        wanted = check_names(ctx.name, v.get("networks") or [])
        have = list(attrs.get("libvirt.lans") or {})
        if sorted(wanted) != sorted(have):
            ctx.log(
                f"deployment.libvirt.networks is {wanted} but the VM was created on {have}; "
                f"it keeps its NICs until `declos destroy --confirm -d {ctx.deployment.name}` "
                "and the next deploy create it again"
            )

    def _grow_root(self, ctx: MachineContext, port: int, key_file: Path) -> None:
        """Grow the root filesystem (ext4 on /dev/vda, the whole overlay) to a disk that
        `baseImageSize` made larger than the base image: online, right after first boot."""
        host = declos.hosts.SSHHost(  # attribute access: paramiko loads only here
            LOOPBACK,
            port,
            "root",
            key_file=str(key_file),
            known_hosts=StateKnownHosts(ctx.state, ctx.deployment),
            policy=declos.hosts.HostKeyPolicy.STRICT,
            connect_timeout=10.0,
            name=ctx.name,
        )
        try:
            with host:
                result = host.run(["resize2fs", "/dev/vda"], timeout=300, check=False)
        except declos.hosts.HostError as exc:
            ctx.log(f"could not grow the root filesystem: {exc}")
            return
        if result.returncode != 0:
            ctx.log(
                "could not grow the root filesystem to deployment.libvirt.baseImageSize "
                f"(resize2fs /dev/vda exited {result.returncode}: "
                f"{result.stderr.decode(errors='replace').strip()})"
            )
            return
        ctx.log(f"grew the root filesystem to {ctx.attrs.get('libvirt.diskGiB')} GiB")

    def _image(self, ctx: MachineContext, v: Mapping[str, Any]) -> BaseImage:
        base = v.get("baseImage")
        if base:
            manifest = Path(base) / "manifest.json"
            if not manifest.is_file():
                raise BackendError(
                    f"machine {ctx.name!r}: deployment.libvirt.baseImage {base!r} is not a "
                    "declos image directory (no manifest.json; build one with declos.virt.image)"
                )
            try:
                return BaseImage.load(Path(base))
            except (OSError, ValueError, KeyError) as exc:
                raise BackendError(
                    f"machine {ctx.name!r}: deployment.libvirt.baseImage {base!r}: unreadable "
                    f"manifest.json ({exc!r})"
                ) from None
        try:
            return ensure_image(log=ctx.log)
        except VirtError as exc:
            raise BackendError(f"machine {ctx.name!r}: base image: {exc}") from exc

    def _check_options(self, ctx: MachineContext, v: Mapping[str, Any]) -> None:
        where = f"machine {ctx.name!r}: deployment.libvirt"
        size = v.get("baseImageSize")
        if size is not None and (not isinstance(size, int) or size < 1 or size > 65536):
            raise BackendError(f"{where}.baseImageSize = {size!r}: a size in GiB, 1 to 65536")

    def _create(self, ctx: MachineContext) -> Placement:
        v = ctx.values.get("libvirt") or {}
        self._check_options(ctx, v)
        lans = check_names(ctx.name, v.get("networks") or [])
        image = self._image(ctx, v)
        try:
            base_bytes = virtual_size(image.disk)
        except VirtError as exc:
            raise BackendError(f"machine {ctx.name!r}: base image: {exc}") from exc
        disk_gib = v.get("baseImageSize")
        if disk_gib and disk_gib * GIB < base_bytes:
            raise BackendError(
                f"machine {ctx.name!r}: deployment.libvirt.baseImageSize = {disk_gib} is smaller "
                f"than the base image's disk ({base_bytes / GIB:g} GiB); give at least "
                f"{-(-base_bytes // GIB)}"
            )
        directory = vm_root() / ctx.deployment.uuid / ctx.name
        directory.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if directory.exists():
            shutil.rmtree(directory)  # leftovers of a creation that failed half-way
        directory.mkdir(mode=0o700)
        ssh_port = int(v.get("sshPort") or free_port())
        forwards = {
            int(f["guestPort"]): int(f.get("hostPort") or free_port())
            for f in v.get("forwardPorts") or []
        }
        name = domain_name(ctx.deployment.uuid, ctx.name)
        seats = self.lans.join(ctx.state, ctx.deployment, ctx.name, lans)
        request = VmRequest(
            hostname=ctx.name,
            domain_name=name,
            workdir=directory,
            console_log=directory / "console.log",
            ssh_port=ssh_port,
            memory_mib=int(v.get("memorySize", 1024)),
            vcpus=int(v.get("vcpu", 1)),
            forwards=[(h, g) for g, h in forwards.items()],
            domain_type=str(v.get("domainType", "qemu")),
            extra_devices_xml=str(v.get("extraDevicesXML") or ""),
            uri=str(v.get("URI") or URI),
            lan_nics=[seat.nic(index) for index, seat in enumerate(seats)],
            lan_addresses=[f"{seat.address}/24" for seat in seats],
            disk_gib=int(disk_gib) if disk_gib else None,
            graphics=not v.get("headless", True),
        )
        t0 = time.monotonic()
        try:
            vm = provision(image, request)
        except VirtError as exc:
            shutil.rmtree(directory, ignore_errors=True)
            self.lans.leave(ctx.state, ctx.deployment, ctx.name)
            raise BackendError(f"machine {ctx.name!r}: {exc}") from exc
        key_type, key_b64 = vm.host_public_key.split()[:2]
        ctx.state.learn_host_key(ctx.deployment, LOOPBACK, ssh_port, key_type, key_b64)
        ctx.record(
            backend="libvirt",
            status="created",
            host=LOOPBACK,
            port=ssh_port,
            **{
                "libvirt.domain": name,
                "libvirt.dir": str(directory),
                "libvirt.sshPort": ssh_port,
                "libvirt.forwards": {str(g): h for g, h in forwards.items()},
                "libvirt.uri": request.uri,
                "libvirt.created": time.time(),
                "libvirt.lans": addresses(seats),
                "libvirt.diskGiB": request.disk_gib or base_bytes / GIB,
            },
        )
        ctx.log(
            f"created domain {name} (overlay on {image.key}), SSH on {LOOPBACK}:{ssh_port}, "
            f"host key {key_type} recorded before first contact"
        )
        on_lans = ", ".join(f"{s.lan} {s.address}" for s in seats)
        if on_lans:
            ctx.log(f"on LAN {on_lans}")
        dom = self._handle(ctx.attrs)
        self._power_on(ctx, dom)
        self._wait_for_ssh(ctx, dom, ssh_port, int(v.get("bootTimeout") or DEFAULT_BOOT_TIMEOUT))
        ctx.log(f"SSH answered {time.monotonic() - t0:.1f} s after creation")
        if request.disk_gib and request.disk_gib * GIB > base_bytes:
            self._grow_root(ctx, ssh_port, directory / "id_ed25519")
        placement = self.placement(ctx.attrs)
        assert placement is not None
        return placement

    def _wait_for_ssh(
        self,
        ctx: MachineContext,
        dom: LibvirtDomain,
        port: int,
        timeout: float | None = None,
    ) -> None:
        """Until sshd's banner answers on the forwarded port; BackendError with the last
        console lines when the VM stops or `timeout` passes (never waits forever)."""
        limit = float(
            timeout or (ctx.values.get("libvirt") or {}).get("bootTimeout") or DEFAULT_BOOT_TIMEOUT
        )
        deadline = time.monotonic() + limit
        while True:
            if banner_ready(LOOPBACK, port):
                return
            if not dom.is_running():
                raise BackendError(
                    f"machine {ctx.name!r}: the VM stopped while waiting for SSH; last console "
                    f"lines:\n{dom.console_tail(CONSOLE_LINES)}"
                )
            if time.monotonic() >= deadline:
                raise BackendError(
                    f"machine {ctx.name!r}: SSH on {LOOPBACK}:{port} did not answer within "
                    f"{limit:.0f} s (deployment.libvirt.bootTimeout); last console lines:\n"
                    f"{dom.console_tail(CONSOLE_LINES)}"
                )
            time.sleep(1.0)
