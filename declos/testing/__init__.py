"""declos.testing: the VM test driver (NixOS test-driver style) on top of declos.virt.

    from declos.testing import MachineSpec, Machine
    def test_x(vm_machines):
        (web,) = vm_machines(MachineSpec("web", memory=1024, lans=(1,)))
        web.wait_for_unit("ssh.service")
        assert web.testinfra.service("ssh").is_running

See docs/vm-harness.md.
"""

from declos.testing.driver import Driver
from declos.testing.errors import CommandFailed, MachineError, WaitTimeout
from declos.testing.machine import Machine
from declos.testing.spec import MachineSpec

__all__ = ["CommandFailed", "Driver", "Machine", "MachineError", "MachineSpec", "WaitTimeout"]
