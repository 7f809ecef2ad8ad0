"""The interface between the deploy pipeline and the machines declos creates.

`targetEnv: none` is an existing host: the pipeline connects to `targetHost`. Every other
`targetEnv` names a `Backend` that creates the machine on the first deploy, starts it,
and tells the pipeline where its SSH server is (a `Placement`: always 127.0.0.1 and a
forwarded port, the deployer key the backend generated). The backend keeps its own facts
in the machine's state attributes under its prefix (`libvirt.*`, `virtualbox.*`), and
writes the machine's host key into the deployment's `host_keys` at creation, so the
first connection is already strict.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from declos.deploy.errors import DeployError
from declos.deploy.state import Deployment, State


class BackendError(DeployError):
    """Creating, starting, stopping or destroying a machine failed; the message says why
    (for a boot that never reached SSH: the last console lines)."""


@dataclass(frozen=True)
class Placement:
    """Where the pipeline reaches a created machine."""

    host: str
    port: int
    key_file: str
    forwards: Mapping[int, int]  # guest port -> port on 127.0.0.1


@dataclass
class MachineContext:
    """One machine of one deployment, as a backend sees it."""

    state: State
    deployment: Deployment
    name: str
    values: Mapping[str, Any]  # the machine's evaluated `deployment.*` ({} when not evaluated)
    log: Callable[[str], None]

    @property
    def attrs(self) -> dict[str, Any]:
        return self.state.machines(self.deployment).get(self.name, {})

    def record(self, **attrs: Any) -> None:
        self.state.update_machine(self.deployment, self.name, **attrs)


class Backend(abc.ABC):
    """What every machine-creating `targetEnv` implements."""

    target_env: ClassVar[str]

    @abc.abstractmethod
    def placement(self, attrs: Mapping[str, Any]) -> Placement | None:
        """Where the machine is, from its state attributes (None: not created yet)."""

    @abc.abstractmethod
    def ensure_up(self, ctx: MachineContext) -> Placement:
        """Create the machine if it does not exist, start it if it is off, wait for SSH."""

    @abc.abstractmethod
    def start(self, ctx: MachineContext) -> str:
        """Power on a created machine and wait for SSH; a line saying what happened."""

    @abc.abstractmethod
    def stop(self, ctx: MachineContext, timeout: float) -> str:
        """ACPI shutdown within `timeout` seconds, else a hard power-off (saying so)."""

    @abc.abstractmethod
    def destroy(self, ctx: MachineContext) -> str:
        """Remove the machine and every file declos made for it."""

    @abc.abstractmethod
    def status(self, attrs: Mapping[str, Any]) -> str:
        """The machine's state as the hypervisor sees it ('running', 'shut off',
        'missing' when it was deleted behind declos's back, 'not created')."""
