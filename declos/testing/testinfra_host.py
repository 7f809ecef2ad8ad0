"""A testinfra host bound to a Machine.

Its commands go through the Machine (and so through declos's SSH host layer): the same
strict host-key check, the reconnect after a reboot or snapshot restore, and the action
log. (testinfra's stock paramiko backend would fall back to WarningPolicy and cache a
dead client across reboots.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from testinfra.backend.base import BaseBackend
from testinfra.host import Host

if TYPE_CHECKING:
    from declos.testing.machine import Machine


class MachineBackend(BaseBackend):
    """A testinfra backend speaking through Machine._run (bash over the VM's SSHHost)."""

    NAME = "declos-vm"

    def __init__(self, machine: Machine) -> None:
        self.machine = machine
        super().__init__(f"root@127.0.0.1:{machine.ssh_port}")

    def run(self, command: str, *args: str, **kwargs: Any) -> Any:
        cmd = self.get_command(command, *args)
        with self.machine.log.nested(f"{self.machine.name}: testinfra: {cmd!r}"):
            rc, out, err = self.machine._run(cmd, 600)
        return self.result(rc, self.encode(cmd), out, err)

    def get_pytest_id(self) -> str:
        return f"vm://{self.machine.name}"


def testinfra_host(machine: Machine) -> Host:
    return Host(MachineBackend(machine))
