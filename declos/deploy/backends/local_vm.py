"""What the two VM-creating backends share: machines on this host, reached through a port
forwarded on 127.0.0.1, with a directory of their own under `vm_root()`.

Each backend names its state attributes with its prefix (`libvirt.*`, `virtualbox.*`):
`<prefix>.dir` the machine's directory, `<prefix>.sshPort` the forwarded port, and its
identity attribute (`libvirt.domain`, `virtualbox.vmId`). The checks and messages below
are the same for both, so a user reads one vocabulary whatever the hypervisor.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from declos.deploy.backends.base import Backend, BackendError, MachineContext

LOOPBACK = "127.0.0.1"


def vm_root() -> Path:
    """`$DECLOS_VM_DIR`, else `$XDG_DATA_HOME/declos/vms` (~/.local/share/declos/vms)."""
    explicit = os.environ.get("DECLOS_VM_DIR")
    if explicit:
        return Path(explicit)
    data = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local/share")
    return Path(data) / "declos" / "vms"


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


class LocalVmBackend(Backend):
    """A backend whose machines are VMs on this host (see the module docstring)."""

    prefix: ClassVar[str]  # state attribute prefix, e.g. "libvirt"
    id_attr: ClassVar[str]  # the attribute naming the VM, e.g. "libvirt.domain"
    noun: ClassVar[str]  # how messages call the VM, e.g. "domain"

    def _created(self, ctx: MachineContext) -> dict[str, Any]:
        """The machine's attributes; refuses a machine the first deploy has not created."""
        attrs = ctx.attrs
        if not attrs.get(self.id_attr):
            raise BackendError(
                f"machine {ctx.name!r} has not been created yet; "
                f"`declos deploy -d {ctx.deployment.name}` creates it"
            )
        return attrs

    def _missing(self, ctx: MachineContext, attrs: Mapping[str, Any]) -> str:
        return (
            f"{self.noun} {attrs[self.id_attr]} of machine {ctx.name!r} is missing (deleted "
            f"outside declos); `declos deploy -d {ctx.deployment.name}` creates it anew"
        )

    def _never_created(self, ctx: MachineContext) -> BackendError:
        return BackendError(f"machine {ctx.name!r} was never created: nothing to destroy")

    def _remove_files(self, ctx: MachineContext, attrs: Mapping[str, Any]) -> None:
        """The machine's directory (and its parent when that is left empty) and the host
        key learned for its forwarded port: a later machine may get the same port."""
        port = attrs.get(f"{self.prefix}.sshPort")
        if port:
            ctx.state.forget_host_keys(ctx.deployment, LOOPBACK, int(port))
        directory = Path(attrs[f"{self.prefix}.dir"])
        shutil.rmtree(directory, ignore_errors=True)
        parent = directory.parent
        if parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()

    def _forget(self, ctx: MachineContext) -> None:
        """Drop the destroyed machine from the deployment's state (the others are kept)."""
        others = [m for m in ctx.state.machines(ctx.deployment) if m != ctx.name]
        ctx.state.forget_machines(ctx.deployment, others)
