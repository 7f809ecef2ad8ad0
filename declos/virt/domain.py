"""What a VM is (DomainSpec) and what every runner can do with it (Domain).

Two runners implement Domain: `LibvirtDomain` (libvirt-python, qemu:///system, TCG) and
`QemuDomain` (a plain qemu-system-x86_64 process). The harness and the libvirt deployment
backend talk to this interface only; the runner is a choice of backend, not of behaviour.

Both runners produce the same virtual hardware, so a guest cannot tell them apart:
virtio disk 0 is the overlay (`/dev/vda`, root), the seed disk has serial `declos-seed`,
extra disks follow with serials `extra0`, `extra1`, ...; NIC 0 is QEMU user networking
with one `hostfwd` from 127.0.0.1:ssh_port to the guest's port 22; LAN NICs are stream
netdevs to VDE relays (the test harness's LANs, which live as long as the test process)
or UDP multicast groups on 127.0.0.1 (a deployment's LANs, which need no process at all
and outlive `declos deploy`), each with a QOM id `lanN` (used to cut the link).
"""

from __future__ import annotations

import abc
import re
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from declos.virt.guest_files import SEED_SERIAL, UPLINK_MAC


@dataclass(frozen=True)
class DiskSpec:
    """A virtio disk: a qcow2 (overlay or extra) or the raw read-only seed."""

    path: Path
    serial: str
    fmt: str = "qcow2"
    readonly: bool = False


@dataclass(frozen=True)
class LanNic:
    """A NIC on a LAN: a VDE relay's unix `socket`, or a multicast `group` ("239.255.A.B:PORT")
    that every member joins on 127.0.0.1 (QEMU's `-netdev socket,mcast=`)."""

    nic_id: str  # QOM id inside QEMU, "lan0", "lan1", ...
    mac: str
    socket: Path | None = None
    group: str = ""

    def netdev(self) -> str:
        """The `-netdev` value of this NIC's backend (id `<nic_id>-net`)."""
        if self.group:
            return f"socket,id={self.nic_id}-net,mcast={self.group},localaddr=127.0.0.1"
        return f"stream,id={self.nic_id}-net,server=off,addr.type=unix,addr.path={self.socket}"


@dataclass
class DomainSpec:
    """Everything needed to start one VM; runners turn it into XML or argv."""

    name: str
    memory_mib: int
    vcpus: int
    kernel: Path
    initrd: Path
    cmdline: str
    disks: list[DiskSpec]
    ssh_port: int
    console_log: Path
    workdir: Path
    lan_nics: list[LanNic] = field(default_factory=list)
    uplink_mac: str = UPLINK_MAC
    # Extra TCP forwards (host port on 127.0.0.1, guest port) besides SSH's.
    forwards: list[tuple[int, int]] = field(default_factory=list)
    domain_type: str = "qemu"  # libvirt's <domain type>: qemu (TCG) or kvm
    extra_devices_xml: str = ""  # libvirt only: appended inside <devices>
    graphics: bool = False  # a VGA card and a VNC display on 127.0.0.1 (headless: none)

    @staticmethod
    def default_cmdline(extra: str = "") -> str:
        """Root is virtio disk 0, console on the first serial port, the seed flag for the seed unit."""
        base = (
            "root=/dev/vda rw console=ttyS0,115200 panic=1 net.ifnames=0 "
            "systemd.show_status=1 loglevel=4 declos.seed"
        )
        return f"{base} {extra}".strip()

    def seed_disk(self) -> DiskSpec | None:
        return next((d for d in self.disks if d.serial == SEED_SERIAL), None)


class Domain(abc.ABC):
    """One VM's lifecycle, independent of the runner."""

    spec: DomainSpec

    @abc.abstractmethod
    def start(self) -> None:
        """Power on (define first if needed). Returns once QEMU runs, not once booted."""

    @abc.abstractmethod
    def is_running(self) -> bool: ...

    @abc.abstractmethod
    def request_shutdown(self) -> None:
        """Press the ACPI power button; the guest decides how fast it goes down."""

    @abc.abstractmethod
    def power_off(self) -> None:
        """Pull the plug now (a crash, from the guest's point of view)."""

    @abc.abstractmethod
    def set_link(self, nic_id: str, up: bool) -> None:
        """Plug or unplug a LAN NIC's cable (the guest sees carrier change)."""

    @abc.abstractmethod
    def pause(self) -> None:
        """Freeze the vCPUs (the VM keeps its RAM but uses no CPU)."""

    @abc.abstractmethod
    def resume(self) -> None: ...

    @abc.abstractmethod
    def is_paused(self) -> bool: ...

    @abc.abstractmethod
    def save_snapshot(self, name: str) -> None:
        """Internal qcow2 snapshot of disk and RAM of the running VM (QEMU savevm)."""

    @abc.abstractmethod
    def load_snapshot(self, name: str) -> None:
        """Return the running VM to a snapshot taken by save_snapshot."""

    @abc.abstractmethod
    def undefine(self) -> None:
        """Forget the VM in the runner (the VM must be off); files are the caller's."""

    def wait_stopped(self, timeout: float) -> bool:
        """True when the VM stopped within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.is_running():
                return True
            time.sleep(0.2)
        return not self.is_running()

    def stop(self, timeout: float = 60.0) -> bool:
        """Graceful shutdown within `timeout`, else a hard one; True if it was graceful."""
        if not self.is_running():
            return True
        self.request_shutdown()
        if self.wait_stopped(timeout):
            return True
        self.power_off()
        return False

    def console_tail(self, lines: int = 40) -> str:
        """The last lines of the serial console, for error messages."""
        return console_tail(self.spec.console_log, lines)


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def clean_console_line(line: str) -> str:
    """Drop carriage returns and colour codes: systemd's status lines are for terminals."""
    return _ANSI.sub("", line.replace("\r", "")).rstrip()


def console_tail(path: Path, lines: int = 40) -> str:
    """The last `lines` non-empty lines of a console log, cleaned for reading."""
    try:
        with open(path, errors="replace") as fh:
            tail = deque((c for c in map(clean_console_line, fh) if c), maxlen=lines)
    except FileNotFoundError:
        return "(no console output yet)"
    return "\n".join(tail) or "(console empty)"
