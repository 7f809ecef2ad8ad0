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
  `virDomainDestroy`, a pulled plug).

Files of a machine live in `vm_root()/<deployment uuid>/<machine>/` (overlay, seed disk,
deployer key, console log); `destroy` removes that directory and the domain.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from declos.deploy.backends.base import BackendError, MachineContext, Placement
from declos.deploy.backends.local_vm import LOOPBACK, LocalVmBackend, free_port, vm_root
from declos.hosts.banner import banner_ready
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
                if state != "running":
                    ctx.log(f"domain {attrs['libvirt.domain']} is {state}: starting it")
                    self._power_on(dom)
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
        self._power_on(dom)
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
        self._forget(ctx)
        return f"destroyed {attrs['libvirt.domain']} and removed {attrs['libvirt.dir']}"

    # -- helpers ----------------------------------------------------------------------

    def _power_on(self, dom: LibvirtDomain) -> None:
        try:
            dom.start()
        except VirtError as exc:
            raise BackendError(str(exc)) from exc

    def _image(self, ctx: MachineContext, v: Mapping[str, Any]) -> BaseImage:
        base = v.get("baseImage")
        if base:
            manifest = Path(base) / "manifest.json"
            if not manifest.is_file():
                raise BackendError(
                    f"machine {ctx.name!r}: deployment.libvirt.baseImage {base!r} is not a "
                    "declos image directory (no manifest.json; build one with declos.virt.image)"
                )
            return BaseImage.load(Path(base))
        try:
            return ensure_image(log=ctx.log)
        except VirtError as exc:
            raise BackendError(f"machine {ctx.name!r}: base image: {exc}") from exc

    def _check_options(self, ctx: MachineContext, v: Mapping[str, Any]) -> None:
        where = f"machine {ctx.name!r}: deployment.libvirt"
        if not v.get("headless", True):
            raise BackendError(
                f"{where}.headless = false is not supported: declos VMs have a serial "
                "console only (see the console with the log in the machine's directory)"
            )
        if v.get("networks"):
            raise BackendError(
                f"{where}.networks is not supported yet: machines of a libvirt deployment "
                "get no shared LAN (docs/backends.md); remove the option"
            )

    def _create(self, ctx: MachineContext) -> Placement:
        v = ctx.values.get("libvirt") or {}
        self._check_options(ctx, v)
        image = self._image(ctx, v)
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
        )
        t0 = time.monotonic()
        try:
            vm = provision(image, request)
        except VirtError as exc:
            shutil.rmtree(directory, ignore_errors=True)
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
            },
        )
        ctx.log(
            f"created domain {name} (overlay on {image.key}), SSH on {LOOPBACK}:{ssh_port}, "
            f"host key {key_type} recorded before first contact"
        )
        dom = self._handle(ctx.attrs)
        self._power_on(dom)
        self._wait_for_ssh(ctx, dom, ssh_port, int(v.get("bootTimeout") or DEFAULT_BOOT_TIMEOUT))
        ctx.log(f"SSH answered {time.monotonic() - t0:.1f} s after creation")
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
