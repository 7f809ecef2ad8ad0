"""Private LANs of a libvirt deployment: one UDP multicast group on 127.0.0.1 per LAN.

`deployment.libvirt.networks` names the LANs a machine is plugged into (default
`["default"]`: every libvirt machine of a deployment shares one LAN). Each LAN of each
deployment is its own multicast group in 239.255.0.0/16 (administratively scoped, RFC
2365) with its own UDP port; every member's QEMU joins it with `-netdev
socket,mcast=GROUP:PORT,localaddr=127.0.0.1`, so the frames travel on the loopback
interface only (multicast TTL 1, sent through 127.0.0.1), and a QEMU bound to another
group never receives them. No relay, switch or bridge process exists: the LAN lives as
long as its members do, which is what a VM that outlives `declos deploy` needs (the VDE
relays of `declos.virt.vde` live in the process that made them).

Inside the guests a LAN is the /24 `192.168.K.0` (K: the LAN's number within the
deployment, from 1), each member with a fixed address `192.168.K.N` (N from 1) and MAC
`52:54:00:4c:K:N`, set by a systemd-networkd file on the VM's seed disk. The host has no
address on it. The deployment's attribute `libvirt.lans` records every LAN
(`{name: {group, port, subnet, members: {machine: N}}}`), and each machine's attribute
`libvirt.lans` its addresses (`{name: "192.168.K.N"}`); `destroy` removes the machine
from its LANs and a LAN with no members left is forgotten.
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from declos.deploy.backends.base import BackendError
from declos.deploy.state import Deployment, State
from declos.virt.domain import LanNic

LANS_ATTR = "libvirt.lans"
MAX_LANS = 8  # NICs per machine (PCI slots after the uplink's)
MAX_MEMBERS = 254
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")


@dataclass(frozen=True)
class Seat:
    """One machine's place on one LAN."""

    lan: str
    group: str  # "239.255.A.B:PORT"
    subnet: int
    node: int

    @property
    def address(self) -> str:
        return f"192.168.{self.subnet}.{self.node}"

    @property
    def mac(self) -> str:
        return f"52:54:00:4c:{self.subnet:02x}:{self.node:02x}"

    def nic(self, index: int) -> LanNic:
        return LanNic(f"lan{index}", self.mac, group=self.group)


def check_names(machine: str, names: Sequence[Any]) -> list[str]:
    """The LAN names of `deployment.libvirt.networks`, or BackendError saying what is wrong."""
    where = f"machine {machine!r}: deployment.libvirt.networks"
    out: list[str] = []
    for name in names:
        if not isinstance(name, str) or not _NAME.match(name):
            raise BackendError(
                f"{where}: {name!r} is not a LAN name (1-32 letters, digits, '-' or '_', "
                "starting with a letter or digit)"
            )
        if name in out:
            raise BackendError(f"{where}: {name!r} is listed twice")
        out.append(name)
    if len(out) > MAX_LANS:
        raise BackendError(f"{where}: {len(out)} LANs, at most {MAX_LANS} per machine")
    return out


def _groups_in_use(state: State) -> set[str]:
    used: set[str] = set()
    for dep in state.deployments():
        for lan in (state.attrs(dep).get(LANS_ATTR) or {}).values():
            used.add(f"{lan['group']}:{lan['port']}")
    return used


class LanBook:
    """Assigns seats on a deployment's LANs; one lock, because a deploy creates its
    machines in parallel threads and two of them must not take the same address."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self._lock = threading.Lock()
        self._rng = rng or random.SystemRandom()

    def join(self, state: State, dep: Deployment, machine: str, names: Sequence[str]) -> list[Seat]:
        """`machine`'s seats on the LANs `names` (created as needed; a machine already
        on a LAN keeps its address)."""
        with self._lock:
            lans: dict[str, dict[str, Any]] = dict(state.attrs(dep).get(LANS_ATTR) or {})
            seats = []
            for name in names:
                lan = lans.get(name)
                if lan is None:
                    lan = lans[name] = self._new_lan(state, lans)
                members: dict[str, int] = lan["members"]
                if machine not in members:
                    free = sorted(set(range(1, MAX_MEMBERS + 1)) - set(members.values()))
                    if not free:
                        raise BackendError(
                            f"machine {machine!r}: LAN {name!r} already has {MAX_MEMBERS} members"
                        )
                    members[machine] = free[0]
                group = f"{lan['group']}:{lan['port']}"
                seats.append(Seat(name, group, int(lan["subnet"]), int(members[machine])))
            state.set_attr(dep, LANS_ATTR, lans)
            return seats

    def leave(self, state: State, dep: Deployment, machine: str) -> None:
        """Take `machine` off every LAN; LANs left without members are forgotten."""
        with self._lock:
            lans: dict[str, dict[str, Any]] = dict(state.attrs(dep).get(LANS_ATTR) or {})
            if not any(machine in lan["members"] for lan in lans.values()):
                return
            for name in list(lans):
                lans[name]["members"].pop(machine, None)
                if not lans[name]["members"]:
                    del lans[name]
            state.set_attr(dep, LANS_ATTR, lans)

    def _new_lan(self, state: State, lans: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
        subnets = {int(lan["subnet"]) for lan in lans.values()}
        subnet = min(set(range(1, 255)) - subnets)
        used = _groups_in_use(state) | {f"{lan['group']}:{lan['port']}" for lan in lans.values()}
        while True:
            group = f"239.255.{self._rng.randrange(1, 255)}.{self._rng.randrange(1, 255)}"
            port = self._rng.randrange(40000, 60000)
            if f"{group}:{port}" not in used:
                return {"group": group, "port": port, "subnet": subnet, "members": {}}


def addresses(seats: Sequence[Seat]) -> dict[str, str]:
    """The machine attribute `libvirt.lans`: LAN name -> the machine's address on it."""
    return {seat.lan: seat.address for seat in seats}
