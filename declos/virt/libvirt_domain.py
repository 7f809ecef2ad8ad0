"""The libvirt runner: a persistent domain on qemu:///system, type 'qemu' (TCG).

Networking never goes through libvirt networks (no `default` network, no bridge, no
NAT): the NICs are passed to QEMU verbatim through <qemu:commandline>, with explicit PCI
addresses so libvirt's own device placement cannot collide with them. QEMU runs as root
(a static DAC label) so it can read the image cache in root's home and reach the VDE
relay sockets. Snapshots and link changes go to the QEMU monitor through
libvirt-qemu, exactly as the plain-QEMU runner does it over QMP.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from xml.etree import ElementTree
from xml.sax.saxutils import escape, quoteattr

from declos.virt.daemons import ensure_libvirtd
from declos.virt.domain import Domain, DomainSpec
from declos.virt.errors import VirtError
from declos.virt.qemu import QEMU_BINARY, netdev_args

URI = "qemu:///system"


def _libvirt() -> Any:
    import libvirt

    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    return libvirt


def open_connection(uri: str = URI) -> Any:
    """Connect to libvirt, starting the daemons first when they are not running."""
    ensure_libvirtd()
    libvirt = _libvirt()
    try:
        return libvirt.open(uri)
    except libvirt.libvirtError as exc:
        raise VirtError(f"cannot connect to {uri}: {exc}") from exc


# A display for a person: VNC on the loopback only (a port libvirt picks from 5900 up);
# reach it from elsewhere through an SSH tunnel, never by listening on a network.
GRAPHICS_XML = (
    "<graphics type='vnc' autoport='yes' listen='127.0.0.1'>"
    "<listen type='address' address='127.0.0.1'/></graphics>"
    "<video><model type='vga'/></video>"
)


def domain_xml(spec: DomainSpec) -> str:
    """The libvirt XML for `spec` (the same virtual hardware as qemu_argv)."""
    disks = []
    for index, disk in enumerate(spec.disks):
        target = "vd" + chr(ord("a") + index)
        ro = "<readonly/>" if disk.readonly else ""
        disks.append(
            f"<disk type='file' device='disk'><driver name='qemu' type='{disk.fmt}'/>"
            f"<source file={quoteattr(str(disk.path))}/><target dev='{target}' bus='virtio'/>"
            f"<serial>{escape(disk.serial)}</serial>{ro}</disk>"
        )
    qemu_args = "".join(f"<qemu:arg value={quoteattr(arg)}/>" for arg in netdev_args(spec))
    graphics = GRAPHICS_XML if spec.graphics else ""
    return f"""<domain type={quoteattr(spec.domain_type)} xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>{escape(spec.name)}</name>
  <memory unit='MiB'>{spec.memory_mib}</memory>
  <vcpu>{spec.vcpus}</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{escape(str(spec.kernel))}</kernel>
    <initrd>{escape(str(spec.initrd))}</initrd>
    <cmdline>{escape(spec.cmdline)}</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <seclabel type='static' model='dac' relabel='no'><label>+0:+0</label></seclabel>
  <devices>
    <emulator>{QEMU_BINARY}</emulator>
    {"".join(disks)}
    <serial type='file'><source path={quoteattr(str(spec.console_log))} append='on'/>
      <target port='0'/></serial>
    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
    {graphics}{spec.extra_devices_xml}
  </devices>
  <qemu:commandline>{qemu_args}</qemu:commandline>
</domain>
"""


STATE_NAMES = {
    0: "no state",
    1: "running",
    2: "blocked",
    3: "paused",
    4: "shutting down",
    5: "shut off",
    6: "crashed",
    7: "suspended",
}


class LibvirtDomain(Domain):
    """A VM managed by libvirtd."""

    def __init__(self, spec: DomainSpec, conn: Any | None = None) -> None:
        self.spec = spec
        self._conn = conn
        self._attached = False

    @classmethod
    def attach(cls, name: str, console_log: Path, conn: Any | None = None) -> LibvirtDomain:
        """A handle on an already defined domain, for start/stop/undefine/state.

        It carries no disks or kernel, so it never defines a domain: `start()` of a
        domain that vanished raises VirtError instead of defining an empty one."""
        spec = DomainSpec(
            name=name,
            memory_mib=0,
            vcpus=0,
            kernel=Path("/nonexistent"),
            initrd=Path("/nonexistent"),
            cmdline="",
            disks=[],
            ssh_port=0,
            console_log=console_log,
            workdir=console_log.parent,
        )
        domain = cls(spec, conn)
        domain._attached = True
        return domain

    def display(self) -> str | None:
        """`vnc://127.0.0.1:PORT` of a running domain with a display, else None."""
        dom = self._lookup()
        if dom is None or not dom.isActive():
            return None
        root = ElementTree.fromstring(dom.XMLDesc(0))
        for graphics in root.iterfind("./devices/graphics[@type='vnc']"):
            port = int(graphics.get("port") or -1)
            if port > 0:
                return f"vnc://{graphics.get('listen') or '127.0.0.1'}:{port}"
        return None

    def exists(self) -> bool:
        return self._lookup() is not None

    def state_name(self) -> str:
        """libvirt's state of the domain in words ('running', 'shut off', ...), or 'missing'."""
        dom = self._lookup()
        if dom is None:
            return "missing"
        return STATE_NAMES.get(int(dom.state()[0]), "unknown")

    @property
    def conn(self) -> Any:
        if self._conn is None:
            self._conn = open_connection()
        return self._conn

    def _lookup(self) -> Any | None:
        libvirt = _libvirt()
        for attempt in range(2):
            try:
                if self._conn is not None and not self._conn.isAlive():
                    raise libvirt.libvirtError("connection closed")
                return self.conn.lookupByName(self.spec.name)
            except libvirt.libvirtError as exc:
                if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN or attempt:
                    return None
                # libvirtd restarted under us: the domain survives, reconnect once.
                self._conn = None
        return None

    def define(self) -> Any:
        """Define (or redefine) the persistent domain from the spec."""
        libvirt = _libvirt()
        if self._attached:
            raise VirtError(f"{self.spec.name}: the domain does not exist (it was undefined)")
        try:
            return self.conn.defineXML(domain_xml(self.spec))
        except libvirt.libvirtError as exc:
            raise VirtError(f"{self.spec.name}: libvirt refused the domain: {exc}") from exc

    def start(self) -> None:
        libvirt = _libvirt()
        dom = self._lookup() or self.define()
        if dom.isActive():
            raise VirtError(f"{self.spec.name}: already running")
        try:
            dom.create()
        except libvirt.libvirtError as exc:
            raise VirtError(
                f"{self.spec.name}: libvirt could not start the domain: {exc}\n"
                f"{self.console_tail(20)}"
            ) from exc

    def is_running(self) -> bool:
        dom = self._lookup()
        return bool(dom is not None and dom.isActive())

    def request_shutdown(self) -> None:
        libvirt = _libvirt()
        dom = self._lookup()
        if dom is not None and dom.isActive():
            try:
                dom.shutdownFlags(libvirt.VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN)
            except libvirt.libvirtError:
                pass

    def power_off(self) -> None:
        libvirt = _libvirt()
        dom = self._lookup()
        if dom is not None and dom.isActive():
            try:
                dom.destroy()
            except libvirt.libvirtError:
                if dom.isActive():
                    raise
        deadline = time.monotonic() + 30
        while self.is_running() and time.monotonic() < deadline:
            time.sleep(0.1)

    def _monitor(self, command: dict[str, Any] | str) -> Any:
        import libvirt_qemu

        libvirt = _libvirt()
        dom = self._lookup()
        if dom is None or not dom.isActive():
            raise VirtError(f"{self.spec.name}: not running")
        try:
            if isinstance(command, str):
                return libvirt_qemu.qemuMonitorCommand(
                    dom, command, libvirt_qemu.VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP
                )
            reply = libvirt_qemu.qemuMonitorCommand(dom, json.dumps(command), 0)
            return json.loads(reply).get("return")
        except libvirt.libvirtError as exc:
            raise VirtError(f"{self.spec.name}: monitor command failed: {exc}") from exc

    def set_link(self, nic_id: str, up: bool) -> None:
        self._monitor({"execute": "set_link", "arguments": {"name": nic_id, "up": up}})

    def pause(self) -> None:
        dom = self._lookup()
        if dom is not None and dom.isActive():
            dom.suspend()

    def resume(self) -> None:
        dom = self._lookup()
        if dom is not None and dom.isActive():
            dom.resume()

    def is_paused(self) -> bool:
        libvirt = _libvirt()
        dom = self._lookup()
        return bool(dom is not None and dom.state()[0] == libvirt.VIR_DOMAIN_PAUSED)

    def save_snapshot(self, name: str) -> None:
        out = str(self._monitor(f"savevm {name}") or "")
        if out.strip():
            raise VirtError(f"{self.spec.name}: savevm failed: {out.strip()}")

    def load_snapshot(self, name: str) -> None:
        out = str(self._monitor(f"loadvm {name}") or "")
        if out.strip():
            raise VirtError(f"{self.spec.name}: loadvm failed: {out.strip()}")

    def undefine(self) -> None:
        libvirt = _libvirt()
        dom = self._lookup()
        if dom is None:
            return
        if dom.isActive():
            self.power_off()
        try:
            dom.undefine()
        except libvirt.libvirtError as exc:
            raise VirtError(f"{self.spec.name}: undefine failed: {exc}") from exc


def reap_stale(prefix: str, alive: Any) -> list[str]:
    """Destroy and undefine domains named `prefix*` whose owner `alive(name)` says is gone.

    A killed test session cannot clean up after itself; the next one does it, touching
    only domains that carry the harness's own prefix.
    """
    libvirt = _libvirt()
    conn = open_connection()
    reaped = []
    for dom in conn.listAllDomains():
        name = dom.name()
        if name.startswith(prefix) and not alive(name):
            try:
                if dom.isActive():
                    dom.destroy()
                dom.undefine()
            except libvirt.libvirtError:
                continue
            reaped.append(name)
    return reaped
