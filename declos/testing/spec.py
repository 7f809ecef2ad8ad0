"""How a test declares a machine."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

RUNNERS = ("libvirt", "qemu")
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")


def default_runner() -> str:
    return os.environ.get("DECLOS_VM_RUNNER", "libvirt")


@dataclass(frozen=True)
class MachineSpec:
    """One VM of a test.

    `disks` are extra blank virtio disks, sizes in MiB, seen by the guest as
    /dev/disk/by-id/virtio-extra0, -extra1, ... (/dev/vdc, /dev/vdd, ...: vdb is the seed).
    `lans` are VLAN numbers (1-254); on LAN N the machine gets 192.168.N.K/24, K being
    its order of joining that LAN (1, 2, ...). `runner` is "libvirt" or "qemu".
    """

    name: str
    memory: int = 1024
    vcpus: int = 2
    disks: tuple[int, ...] = ()
    lans: tuple[int, ...] = ()
    runner: str = field(default_factory=default_runner)

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(
                f"machine name {self.name!r}: use lowercase letters, digits and "
                "'-', starting with a letter (it becomes the hostname)"
            )
        if self.runner not in RUNNERS:
            raise ValueError(
                f"machine {self.name}: runner {self.runner!r} is not one of {', '.join(RUNNERS)}"
            )
        if self.memory < 256:
            raise ValueError(
                f"machine {self.name}: memory {self.memory} MiB is too small "
                "for Debian 12 (use at least 256)"
            )
        for lan in self.lans:
            if not 1 <= lan <= 254:
                raise ValueError(f"machine {self.name}: LAN {lan} is outside 1-254")
