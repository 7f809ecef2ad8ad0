"""Test LANs: one VDE hub per VLAN number, static addresses 192.168.VLAN.K/24.

The addresses exist only on the hub between VMs (the host has no interface on it), as
in the NixOS test driver; SSH from the host always goes through 127.0.0.1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from declos.virt.domain import LanNic
from declos.virt.vde import VdeRelay, VdeSwitch


@dataclass
class Membership:
    machine: str
    vlan: int
    node: int
    nic: LanNic
    relay: VdeRelay

    @property
    def address(self) -> str:
        return f"192.168.{self.vlan}.{self.node}"

    @property
    def mac(self) -> str:
        return self.nic.mac


@dataclass
class Lan:
    vlan: int
    directory: Path
    switch: VdeSwitch = field(init=False)
    members: list[Membership] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.switch = VdeSwitch(self.directory / "switch")
        self.switch.start()

    def join(self, machine: str, nic_index: int) -> Membership:
        node = len(self.members) + 1
        sock = self.directory / f"{machine}.sock"
        relay = VdeRelay(self.switch.directory, sock)
        relay.start()
        nic = LanNic(f"lan{nic_index}", f"52:54:00:12:{self.vlan:02x}:{node:02x}", sock)
        member = Membership(machine, self.vlan, node, nic, relay)
        self.members.append(member)
        return member

    def close(self) -> None:
        for member in self.members:
            member.relay.stop()
        self.switch.stop()


class Lans:
    """All LANs of a session, created on first use."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.by_vlan: dict[int, Lan] = {}

    def get(self, vlan: int) -> Lan:
        if vlan not in self.by_vlan:
            path = self.directory / f"vlan{vlan}"
            path.mkdir(parents=True, exist_ok=True)
            self.by_vlan[vlan] = Lan(vlan, path)
        return self.by_vlan[vlan]

    def close(self) -> None:
        for lan in self.by_vlan.values():
            lan.close()
        self.by_vlan.clear()
