"""Provisioning one VM from the cached image: overlay, disks, keys, seed, domain.

The single place that turns "a VM called NAME with this much memory" into files and a
Domain, used by the test driver and by the libvirt deployment backend alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from declos.virt.disks import create_blank, create_overlay
from declos.virt.domain import DiskSpec, Domain, DomainSpec, LanNic
from declos.virt.guest_files import SEED_SERIAL
from declos.virt.image import BaseImage
from declos.virt.seed import LanAddress, Seed
from declos.virt.ssh_keys import KeyPair, known_hosts_line


@dataclass
class VmRequest:
    """What the caller wants; `domain_name` is the runner-level (libvirt) name."""

    hostname: str
    domain_name: str
    workdir: Path
    console_log: Path
    ssh_port: int
    memory_mib: int = 1024
    vcpus: int = 2
    extra_disks_mib: tuple[int, ...] = ()
    lan_nics: list[LanNic] = field(default_factory=list)
    lan_addresses: list[str] = field(default_factory=list)  # "192.168.1.2/24", per NIC
    hosts: dict[str, str] = field(default_factory=dict)
    runner: str = "libvirt"
    forwards: list[tuple[int, int]] = field(default_factory=list)  # (127.0.0.1 port, guest port)
    domain_type: str = "qemu"
    extra_devices_xml: str = ""
    uri: str | None = None  # libvirt connection URI (None: qemu:///system)
    disk_gib: int | None = None  # root disk size (None: the base image's)
    graphics: bool = False  # VNC display on 127.0.0.1


@dataclass(frozen=True)
class ProvisionedVm:
    """The domain plus what an SSH client needs to reach it, strictly."""

    domain: Domain
    ssh_port: int
    identity_file: Path  # root's private key (0600); .pub beside it
    known_hosts: Path  # "[127.0.0.1]:PORT ssh-ed25519 ..."
    host_public_key: str


def provision(image: BaseImage, request: VmRequest) -> ProvisionedVm:
    """Create the VM's files and its (defined, stopped) domain."""
    wd = request.workdir
    wd.mkdir(parents=True, exist_ok=True)
    disks = [DiskSpec(create_overlay(image.disk, wd / "root.qcow2", request.disk_gib), "root")]
    client_key = KeyPair.generate(f"declos@{request.hostname}")
    client_key.write(wd / "id_ed25519")
    host_key = KeyPair.generate(f"root@{request.hostname}")
    known_hosts = wd / "known_hosts"
    known_hosts.write_text(known_hosts_line("127.0.0.1", request.ssh_port, host_key))
    seed = Seed(
        request.hostname,
        host_key,
        client_key.public_openssh,
        [
            LanAddress(nic.mac, addr)
            for nic, addr in zip(request.lan_nics, request.lan_addresses, strict=True)
        ],
        request.hosts,
    )
    disks.append(DiskSpec(seed.build(wd / "seed.img"), SEED_SERIAL, "raw", True))
    for index, size in enumerate(request.extra_disks_mib):
        disks.append(DiskSpec(create_blank(wd / f"extra{index}.qcow2", size), f"extra{index}"))
    spec = DomainSpec(
        name=request.domain_name,
        memory_mib=request.memory_mib,
        vcpus=request.vcpus,
        kernel=image.kernel,
        initrd=image.initrd,
        cmdline=DomainSpec.default_cmdline(),
        disks=disks,
        ssh_port=request.ssh_port,
        console_log=request.console_log,
        workdir=wd,
        lan_nics=list(request.lan_nics),
        forwards=list(request.forwards),
        domain_type=request.domain_type,
        extra_devices_xml=request.extra_devices_xml,
        graphics=request.graphics,
    )
    domain: Domain
    if request.runner == "qemu":
        from declos.virt.qemu import QemuDomain

        domain = QemuDomain(spec)
    else:
        from declos.virt.libvirt_domain import LibvirtDomain, open_connection

        conn = open_connection(request.uri) if request.uri else None
        libvirt_domain = LibvirtDomain(spec, conn)
        libvirt_domain.define()
        domain = libvirt_domain
    return ProvisionedVm(
        domain, request.ssh_port, wd / "id_ed25519", known_hosts, host_key.public_key_only
    )
