"""A testinfra host bound to a Machine.

It is testinfra's paramiko backend, but its SSH client is the Machine's own: the one
that checks the VM's host key strictly against the harness's known_hosts, reconnects
after a reboot or snapshot restore, and logs each command. (testinfra's stock paramiko
backend would fall back to WarningPolicy and cache a dead client across reboots.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from testinfra.backend.paramiko import ParamikoBackend
from testinfra.host import Host

if TYPE_CHECKING:
    from declos.testing.machine import Machine


class MachineBackend(ParamikoBackend):
    """testinfra's paramiko backend, speaking through Machine.ssh."""

    def __init__(self, machine: Machine) -> None:
        self.machine = machine
        super().__init__(
            f"root@127.0.0.1:{machine.ssh_port}", ssh_identity_file=str(machine.identity_file)
        )

    @property  # type: ignore[override]
    def client(self) -> Any:
        self.machine._connected()
        return self.machine.ssh.client

    def run(self, command: str, *args: str, **kwargs: Any) -> Any:
        cmd = self.get_command(command, *args)
        with self.machine.log.nested(f"{self.machine.name}: testinfra: {cmd!r}"):
            rc, out, err = self.machine._run(cmd, 600)
        return self.result(rc, self.encode(cmd), out, err)

    def get_pytest_id(self) -> str:
        return f"vm://{self.machine.name}"


def testinfra_host(machine: Machine) -> Host:
    return Host(MachineBackend(machine))
